import assert from 'node:assert/strict';
import ajv2019 from 'ajv/dist/2019';
import type { ValidateFunction } from 'ajv';
import { fullFormats } from 'ajv-formats/dist/formats';

// The CommonJS module's class is its default export's `default`.
const Ajv2019 = (ajv2019 as unknown as { default: typeof ajv2019 }).default ?? ajv2019;

type Json = Record<string, any>;

interface Checked {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/**
 * Checks responses against the OpenAPI document the API serves: the path and method are documented,
 * the status is one the operation declares, and the body (each line, for NDJSON) is valid against the
 * declared schema. JSON Schema 2020-12 as zod writes it is also valid 2019-09 (no tuples, no dynamic
 * references), which is what the installed Ajv validates. Formats (date-time, uuid, uri) are checked
 * too, with ajv-formats' definitions handed to Ajv directly (its plugin targets a newer Ajv).
 */
export class OpenApiValidator {
  private readonly ajv: InstanceType<typeof Ajv2019>;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly templates: Array<{ template: string; regex: RegExp }>;
  /** Operations (`GET /v1/x`) and statuses seen, for coverage assertions. */
  readonly seen = new Map<string, Set<number>>();

  constructor(readonly document: Json) {
    this.ajv = new Ajv2019({ strict: false, allErrors: true, formats: fullFormats as never });
    this.ajv.addSchema({ ...document, $id: 'openapi.json' });
    this.templates = Object.keys(document.paths).map((template) => ({
      template,
      regex: new RegExp(`^${template.split('/').map((seg) => (seg.startsWith('{') ? '[^/]+' : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))).join('/')}$`),
    }));
    // Static segments first, so /v1/tokens/current is not taken for /v1/tokens/{token_id}.
    this.templates.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  }

  operation(method: string, path: string): { template: string; operation: Json } | null {
    const bare = path.split('?')[0]!;
    for (const { template, regex } of this.templates) {
      const op = this.document.paths[template]?.[method.toLowerCase()];
      if (regex.test(bare) && op) return { template, operation: op };
    }
    return null;
  }

  check(method: string, path: string, res: Checked): void {
    const found = this.operation(method, path);
    if (!found) {
      // Undocumented routes answer 404 not_found, undeclared methods 405 (or 429 first), in the error envelope.
      assert.ok([404, 405, 429].includes(res.status), `${method} ${path} is not in the OpenAPI document but answered ${res.status}`);
      this.validate('openapi.json#/components/schemas/Error', res.body, `${method} ${path} ${res.status}`);
      return;
    }
    const key = `${method.toUpperCase()} ${found.template}`;
    if (!this.seen.has(key)) this.seen.set(key, new Set());
    this.seen.get(key)!.add(res.status);
    const response = found.operation.responses[String(res.status)];
    assert.ok(response, `${key} answered ${res.status}, which the document does not declare (${Object.keys(found.operation.responses).join(', ')}): ${res.text.slice(0, 300)}`);
    if (!response.content) {
      assert.equal(res.text, '', `${key} ${res.status} declares no body but sent one`);
      return;
    }
    const [type, media] = Object.entries(response.content as Json)[0]!;
    const pointer = `openapi.json#/paths/${escape(found.template)}/${method.toLowerCase()}/responses/${res.status}/content/${escape(type)}/schema`;
    assert.ok(res.headers.get('content-type')?.startsWith(type.split(';')[0]!), `${key} ${res.status}: content-type ${res.headers.get('content-type')} instead of ${type}`);
    if (!media.schema || Object.keys(media.schema).length === 0) return;
    if (type === 'application/x-ndjson') {
      for (const line of res.text.split('\n').filter(Boolean)) {
        const item = JSON.parse(line);
        if (item.error) this.validate('openapi.json#/components/schemas/Error', item, `${key} error line`);
        else this.validate(pointer, item, `${key} line`);
      }
      return;
    }
    this.validate(pointer, res.body, `${key} ${res.status}`);
  }

  private validate(ref: string, value: unknown, what: string): void {
    let fn = this.compiled.get(ref);
    if (!fn) {
      fn = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, fn);
    }
    if (!fn(value)) {
      assert.fail(`${what}: response violates the OpenAPI document: ${this.ajv.errorsText(fn.errors)}\n${JSON.stringify(value).slice(0, 800)}`);
    }
  }
}

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');
