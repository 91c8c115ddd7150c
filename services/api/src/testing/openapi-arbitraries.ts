import fc from 'fast-check';

type Json = Record<string, any>;

/**
 * fast-check arbitraries for the JSON Schema subset zod writes (type, enum, const, pattern, formats,
 * bounds, properties, records, arrays, anyOf/oneOf, $ref into components), so an OpenAPI document can
 * drive property-based requests: values valid for the document, which the API must answer without a 5xx
 * and exactly as the document says.
 */
export class SchemaArbitraries {
  constructor(private readonly document: Json) {}

  of(schema: Json | undefined, depth = 0): fc.Arbitrary<unknown> {
    if (!schema || depth > 6) return fc.constant(null);
    if (schema.$ref) return this.of(this.resolve(schema.$ref), depth + 1);
    if (schema.const !== undefined) return fc.constant(schema.const);
    if (schema.enum) return fc.constantFrom(...(schema.enum as unknown[]));
    const alternatives = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
    if (alternatives) return fc.oneof(...alternatives.map((s) => this.of(s, depth + 1)));
    switch (schema.type) {
      case 'string':
        return this.string(schema);
      case 'integer':
        return fc.integer({ min: bound(schema.minimum, -1e9), max: bound(schema.maximum, 1e9) });
      case 'number':
        return fc.double({ min: bound(schema.minimum, -1e9), max: bound(schema.maximum, 1e9), noNaN: true, noDefaultInfinity: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return fc.array(this.of(schema.items, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 3, 3) });
      case 'object':
        return this.object(schema, depth);
      default:
        return fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
    }
  }

  private string(schema: Json): fc.Arbitrary<string> {
    if (schema.pattern) {
      const min = schema.minLength ?? 0;
      const max = schema.maxLength ?? Infinity;
      return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= max);
    }
    if (schema.format === 'uuid') return fc.uuid();
    if (schema.format === 'date-time') return fc.date({ noInvalidDate: true, min: new Date(0), max: new Date(4e12) }).map((d) => d.toISOString());
    return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 20, 20) });
  }

  private object(schema: Json, depth: number): fc.Arbitrary<unknown> {
    const properties = (schema.properties ?? {}) as Record<string, Json>;
    if (Object.keys(properties).length === 0) {
      const values = typeof schema.additionalProperties === 'object' ? this.of(schema.additionalProperties, depth + 1) : fc.string({ maxLength: 8 });
      return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), values, { maxKeys: 3 });
    }
    const required = new Set<string>(schema.required ?? []);
    const record: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [name, s] of Object.entries(properties)) record[name] = this.of(s, depth + 1);
    return fc.record(record, { requiredKeys: [...required].filter((k) => k in record) });
  }

  private resolve(ref: string): Json {
    return ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<Json>((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], this.document);
  }
}

const bound = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isFinite(value) ? Math.max(-1e15, Math.min(1e15, value)) : fallback);
