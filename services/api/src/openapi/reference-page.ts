/**
 * A self-contained HTML reference rendered from the OpenAPI document (no script, no CDN, so it works on
 * an offline install): operations grouped by tag with their scope, parameters, body and responses,
 * and the schemas they refer to.
 */
interface Parameter {
  name: string;
  in: string;
  required: boolean;
  description?: string;
  schema: unknown;
}
interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters: Parameter[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: unknown }> }>;
}
interface Document {
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const code = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');

function schemaText(schema: unknown): string {
  const json = JSON.stringify(schema, null, 2);
  return esc(json).replace(/&quot;#\/components\/schemas\/(\w+)&quot;/g, '<a href="#schema-$1">$1</a>');
}

export function renderReferencePage(doc: Document): string {
  const byTag = new Map<string, string[]>();
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = op.parameters.length
        ? `<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th><th></th></tr>${op.parameters
            .map(
              (p) =>
                `<tr><td><code>${esc(p.name)}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : 'no'}</td><td><pre>${schemaText(p.schema)}</pre></td><td>${code(p.description ?? '')}</td></tr>`,
            )
            .join('')}</table>`
        : '';
      const body = op.requestBody ? `<h4>Body</h4><pre>${schemaText(op.requestBody.content['application/json']?.schema ?? {})}</pre>` : '';
      const responses = Object.entries(op.responses)
        .map(([status, r]) => {
          const schema = r.content ? Object.values(r.content)[0]?.schema : undefined;
          return `<details><summary><b>${status}</b> ${code(r.description)}</summary>${schema !== undefined ? `<pre>${schemaText(schema)}</pre>` : ''}</details>`;
        })
        .join('');
      const section = `<section id="${esc(op.operationId)}"><h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
<p>${code(op.summary)}</p><p>${code(op.description ?? '').replace(/\n\n/g, '</p><p>')}</p>${params}${body}<h4>Responses</h4>${responses}</section>`;
      const tag = op.tags[0] ?? 'other';
      byTag.set(tag, [...(byTag.get(tag) ?? []), section]);
    }
  }
  const nav = [...byTag.keys()].map((t) => `<a href="#tag-${esc(t)}">${esc(t)}</a>`).join(' · ');
  const tags = [...byTag].map(([tag, sections]) => `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2>${sections.join('')}`).join('');
  const schemas = Object.entries(doc.components.schemas)
    .map(([name, schema]) => `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3><pre>${schemaText(schema)}</pre></section>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(doc.info.title)} ${esc(doc.info.version)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:12px;max-height:24rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.25rem .5rem;vertical-align:top;text-align:left}td pre{margin:0;max-height:8rem}
section{border-top:1px solid #eee;padding-top:.5rem}.m{font-weight:bold;padding:0 .3rem;border-radius:3px;color:#fff;background:#555}.get{background:#2a7}.post{background:#27c}.patch,.put{background:#c82}.delete{background:#c33}</style>
</head><body><h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1><p>${code(doc.info.description)}</p>
<p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI 3.1). ${nav} · <a href="#schemas">schemas</a></p>
${tags}<h2 id="schemas">Schemas</h2>${schemas}</body></html>`;
}
