import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';

type Json = Record<string, unknown>;

/**
 * zod → JSON Schema 2020-12 (OpenAPI 3.1's dialect) with named schemas (`.meta({id})`) hoisted into
 * `components.schemas`. A schema can read differently as input (defaults make fields optional,
 * objects stay open) than as output; when the two differ, the input one is named `<Id>Input`.
 */
export class SchemaComponents {
  readonly schemas: Record<string, Json> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): Json {
    const { $defs, $schema: _ignored, ...root } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as Json & {
      $defs?: Record<string, Json>;
    };
    const renames = new Map<string, string>();
    const defs = Object.entries($defs ?? {});
    // Name every definition first (refs between definitions are rewritten with the final names).
    for (const [name, def] of defs) {
      let target = name;
      const suffix = io === 'input' ? 'Input' : 'Output';
      while (this.schemas[target] !== undefined && !isDeepStrictEqual(this.schemas[target], rewrite(def, renames))) {
        target = target.endsWith(suffix) ? `${target}2` : `${target}${suffix}`;
      }
      renames.set(name, target);
    }
    for (const [name, def] of defs) this.schemas[renames.get(name)!] = rewrite(def, renames) as Json;
    return rewrite(root, renames) as Json;
  }
}

function rewrite(node: unknown, renames: Map<string, string>): unknown {
  if (Array.isArray(node)) return node.map((n) => rewrite(n, renames));
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/$defs/')) {
      const name = value.slice('#/$defs/'.length);
      out[key] = `#/components/schemas/${renames.get(name) ?? name}`;
    } else {
      out[key] = rewrite(value, renames);
    }
  }
  return out;
}
