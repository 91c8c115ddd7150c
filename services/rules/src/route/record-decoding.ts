/**
 * Decides, for one consumed input message, whether it is a record rules can run on or poison.
 * Poison is what no retry can fix: not Confluent-framed Avro, a schema id the registry does not know,
 * bytes the schema cannot decode, or a record without the fields rules rely on (a positive project
 * id, integer times). A registry that cannot be reached is not poison: that error is thrown, and
 * the batch is retried.
 */
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { TopicCodec } from '@vigil/kafka';
import type { InputRecord, Source } from '@vigil/rule-engine';

export type PoisonReason = 'not_confluent_avro' | 'unknown_schema' | 'undecodable' | 'invalid_record';

export type Decoding = { ok: true; record: InputRecord } | { ok: false; reason: PoisonReason; error: string };

export class RecordDecoder {
  /** Schema ids known to exist, so the registry is asked once per id. */
  private readonly knownSchemas = new Set<number>();

  constructor(
    private readonly codecs: { events: TopicCodec<'events'>; flows: TopicCodec<'flows'> },
    private readonly registry: SchemaRegistry,
  ) {}

  async decode(source: Source, value: Buffer | null): Promise<Decoding> {
    if (value === null || value.length < 5 || value[0] !== 0) {
      return { ok: false, reason: 'not_confluent_avro', error: 'value is not in the Confluent wire format (magic byte 0, schema id, Avro)' };
    }
    const schemaId = value.readUInt32BE(1);
    if (!this.knownSchemas.has(schemaId)) {
      try {
        await this.registry.getSchema(schemaId);
        this.knownSchemas.add(schemaId);
      } catch (error) {
        if ((error as { status?: number }).status === 404) {
          return { ok: false, reason: 'unknown_schema', error: `schema id ${schemaId} is not in the registry` };
        }
        throw error;
      }
    }
    let record: InputRecord;
    try {
      record = source === 'events' ? await this.codecs.events.decode(value) : await this.codecs.flows.decode(value);
    } catch (error) {
      return { ok: false, reason: 'undecodable', error: `Avro decoding failed: ${(error as Error).message}` };
    }
    const problem = contractProblem(source, record);
    return problem === null ? { ok: true, record } : { ok: false, reason: 'invalid_record', error: problem };
  }
}

function contractProblem(source: Source, r: InputRecord): string | null {
  if (!Number.isSafeInteger(r.project_id) || r.project_id <= 0) return 'project_id is not a positive integer';
  if (!Number.isSafeInteger(r.received_at_ms)) return 'received_at_ms is not an integer';
  const time = source === 'events' ? (r as { timestamp_ms: unknown }).timestamp_ms : (r as { flow_end_ms: unknown }).flow_end_ms;
  if (!Number.isSafeInteger(time)) return `${source === 'events' ? 'timestamp_ms' : 'flow_end_ms'} is not an integer`;
  if (source === 'events') {
    const attributes = (r as { attributes: unknown }).attributes;
    if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) return 'attributes is not a JSON object';
  }
  return null;
}
