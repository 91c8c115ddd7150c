/**
 * Decoding Confluent-framed Avro (magic byte 0, 4-byte schema id, Avro body) reading only the
 * top-level fields rules need: a reader schema made of the writer schema's fields that are wanted,
 * resolved against the writer schema, so the others are skipped (a string's length is read and its
 * bytes passed over) instead of materialised. Nothing else changes: a field kept decodes exactly as
 * with the full schema, and a field the writer schema lacks is missing either way.
 *
 * Synchronous once the writer schema is known: `learn` asks the registry for the schema ids of a
 * batch it has not seen (once per id), then every value decodes without awaiting anything.
 */
import avsc from 'avsc';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

/** Top-level fields to decode, with a key naming the set (sorted names). One object per key. */
export interface FieldSet {
  readonly key: string;
  readonly fields: ReadonlySet<string>;
  /** Readers of this projection, per writer schema id. */
  readonly readers: Map<number, Reader>;
}

const fieldSets = new Map<string, FieldSet>();
/** Distinct field sets kept (a few per rule set in practice); beyond, the table starts afresh. */
const MAX_FIELD_SETS = 1024;

/** The field set of these names (the same object for the same names). */
export function fieldSet(fields: Iterable<string>): FieldSet {
  const sorted = [...new Set(fields)].sort();
  const key = sorted.join(',');
  let set = fieldSets.get(key);
  if (set === undefined) {
    if (fieldSets.size >= MAX_FIELD_SETS) fieldSets.clear();
    set = { key, fields: new Set(sorted), readers: new Map() };
    fieldSets.set(key, set);
  }
  return set;
}

export const WIRE_HEADER_BYTES = 5;

/** The schema id of a Confluent-framed value; null when it is not framed so. */
export function schemaIdOf(value: Buffer | null): number | null {
  return value === null || value.length < WIRE_HEADER_BYTES || value[0] !== 0 ? null : value.readUInt32BE(1);
}

interface Reader {
  type: avsc.Type;
  resolver: avsc.Resolver | undefined;
}

export class ProjectedAvro {
  private readonly writers = new Map<number, avsc.Type>();
  private readonly fullReaders = new Map<number, Reader>();

  constructor(private readonly registry: SchemaRegistry) {}

  /**
   * Fetches the writer schemas of these ids not known yet. Ids the registry does not have (404)
   * stay unknown; any other failure (registry unreachable) is thrown.
   */
  async learn(ids: Iterable<number>): Promise<void> {
    for (const id of new Set(ids)) {
      if (this.writers.has(id)) continue;
      try {
        const schema = await this.registry.getSchema(id);
        if (schema instanceof avsc.Type) this.writers.set(id, schema);
      } catch (error) {
        if ((error as { status?: number }).status !== 404) throw error;
      }
    }
  }

  knows(id: number): boolean {
    return this.writers.has(id);
  }

  /**
   * The Avro value of a framed message whose schema is known, with only `fields` (every field when
   * null). Throws when the bytes do not decode under the schema (truncated, trailing bytes, …).
   */
  decode(value: Buffer, fields: FieldSet | null): Record<string, unknown> {
    const id = value.readUInt32BE(1);
    const reader = this.reader(id, fields);
    const { value: decoded, offset } = reader.type.decode(value, WIRE_HEADER_BYTES, reader.resolver);
    if (offset !== value.length) throw new Error(offset < 0 ? 'truncated Avro value' : 'trailing bytes after the Avro value');
    return decoded as Record<string, unknown>;
  }

  private reader(id: number, fields: FieldSet | null): Reader {
    const readers = fields === null ? this.fullReaders : fields.readers;
    let reader = readers.get(id);
    if (reader === undefined) {
      const writer = this.writers.get(id);
      if (writer === undefined) throw new Error(`schema ${id} is not known`);
      reader = fields === null ? { type: writer, resolver: undefined } : project(writer, fields.fields);
      readers.set(id, reader);
    }
    return reader;
  }
}

/** A reader of the writer's fields in `keep`; the writer itself when nothing is left out (or no projection can be built). */
function project(writer: avsc.Type, keep: ReadonlySet<string>): Reader {
  const schema = writer.schema() as unknown as { type?: string; fields?: Array<{ name: string }> };
  if (schema.type !== 'record' || !Array.isArray(schema.fields)) return { type: writer, resolver: undefined };
  const fields = schema.fields.filter((f) => keep.has(f.name));
  if (fields.length === schema.fields.length) return { type: writer, resolver: undefined };
  try {
    const type = avsc.Type.forSchema({ ...schema, fields } as avsc.Schema);
    return { type, resolver: type.createResolver(writer) };
  } catch {
    // A named type defined inside a field left out and used by one kept: decode everything.
    return { type: writer, resolver: undefined };
  }
}
