/**
 * Decides, for one consumed input message, whether it is a record rules can run on or poison.
 * Poison is what no retry can fix: not Confluent-framed Avro, a schema id the registry does not know,
 * bytes the schema cannot decode, or a record without the fields rules rely on (a positive project
 * id, integer times, attributes that are a JSON object). A registry that cannot be reached is not
 * poison: that error is thrown (by `learn`), and the batch is retried.
 *
 * Records are decoded projected (route/avro-projection.ts): only the top-level fields asked for —
 * those the rules read — are materialised. The contract's fields are always among them, so what is
 * poison does not depend on the rules.
 */
import type { InputRecord, Source } from '@vigil/rule-engine';
import { fieldSet, schemaIdOf, type FieldSet, type ProjectedAvro } from './avro-projection';

export type PoisonReason = 'not_confluent_avro' | 'unknown_schema' | 'undecodable' | 'invalid_record';

export type Decoding = { ok: true; record: InputRecord } | { ok: false; reason: PoisonReason; error: string };

/** What the contract check reads: always decoded, whatever the rules. */
export const CONTRACT_FIELDS: Record<Source, readonly string[]> = {
  events: ['project_id', 'timestamp_ms', 'received_at_ms', 'attributes'],
  flows: ['project_id', 'flow_end_ms', 'received_at_ms'],
};

/** `fields` plus the contract's. */
export function withContractFields(source: Source, fields: Iterable<string>): FieldSet {
  return fieldSet([...CONTRACT_FIELDS[source], ...fields]);
}

export class RecordDecoder {
  constructor(private readonly avro: ProjectedAvro) {}

  /** Makes the schemas of these values known (the registry is asked once per id); throws when it cannot be reached. */
  async learn(values: Iterable<Buffer | null>): Promise<void> {
    let unknown: number[] | null = null;
    for (const v of values) {
      const id = schemaIdOf(v);
      if (id !== null && !this.avro.knows(id)) (unknown ??= []).push(id);
    }
    if (unknown !== null) await this.avro.learn(unknown);
  }

  /** Decodes one value whose schema `learn` was given; `fields` null decodes every field. */
  decode(source: Source, value: Buffer | null, fields: FieldSet | null): Decoding {
    const schemaId = schemaIdOf(value);
    if (value === null || schemaId === null) {
      return { ok: false, reason: 'not_confluent_avro', error: 'value is not in the Confluent wire format (magic byte 0, schema id, Avro)' };
    }
    if (!this.avro.knows(schemaId)) return { ok: false, reason: 'unknown_schema', error: `schema id ${schemaId} is not in the registry` };
    let record: InputRecord;
    try {
      record = fromAvro(source, this.avro.decode(value, fields));
    } catch (error) {
      return { ok: false, reason: 'undecodable', error: `Avro decoding failed: ${(error as Error).message}` };
    }
    const problem = contractProblem(source, record, fields);
    return problem === null ? { ok: true, record } : { ok: false, reason: 'invalid_record', error: problem };
  }
}

/** The record as rules see it: an event's attributes travel as JSON text and are parsed (when decoded). */
function fromAvro(source: Source, value: Record<string, unknown>): InputRecord {
  if (source === 'events' && typeof value.attributes === 'string') value.attributes = JSON.parse(value.attributes) as unknown;
  return value as unknown as InputRecord;
}

function contractProblem(source: Source, r: InputRecord, fields: FieldSet | null): string | null {
  if (!Number.isSafeInteger(r.project_id) || r.project_id <= 0) return 'project_id is not a positive integer';
  if (!Number.isSafeInteger(r.received_at_ms)) return 'received_at_ms is not an integer';
  const time = source === 'events' ? (r as { timestamp_ms: unknown }).timestamp_ms : (r as { flow_end_ms: unknown }).flow_end_ms;
  if (!Number.isSafeInteger(time)) return `${source === 'events' ? 'timestamp_ms' : 'flow_end_ms'} is not an integer`;
  if (source === 'events' && (fields === null || fields.fields.has('attributes'))) {
    const attributes = (r as { attributes: unknown }).attributes;
    if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) return 'attributes is not a JSON object';
  }
  return null;
}
