import type { KafkaMessage } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { EventRecord } from '@vigil/contracts';
import type { TopicCodec } from '@vigil/kafka';
import { EVENT_CLASSES, SEVERITIES } from '@vigil/contracts';

/**
 * Decides, for one consumed `vigil.events.v1` message, whether it is a storable event or poison.
 * Poison is what no retry can fix: not Confluent-framed Avro, a schema id the registry does not
 * know (404), bytes the schema cannot decode, or a record that breaks the contract. A registry that
 * cannot be reached is not poison: that error is thrown, and the batch is retried.
 */
export type EventDecoding = { ok: true; record: EventRecord } | { ok: false; reason: EventPoisonReason; error: string };

export type EventPoisonReason = 'not_confluent_avro' | 'unknown_schema' | 'undecodable' | 'invalid_record';

const HEX32 = /^[0-9a-f]{32}$/;
const CLASSES: ReadonlySet<string> = new Set(EVENT_CLASSES);
const SEVERITY_SET: ReadonlySet<string> = new Set(SEVERITIES);

export class EventDecoder {
  /** Schema ids known to exist, so the registry is asked once per id. */
  private readonly knownSchemas = new Set<number>();

  constructor(
    private readonly codec: TopicCodec<'events'>,
    private readonly registry: SchemaRegistry,
  ) {}

  async decode(message: KafkaMessage): Promise<EventDecoding> {
    const value = message.value;
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
    let record: EventRecord;
    try {
      record = await this.codec.decode(value);
    } catch (error) {
      return { ok: false, reason: 'undecodable', error: `Avro decoding failed: ${(error as Error).message}` };
    }
    const problem = contractProblem(record);
    if (problem !== null) return { ok: false, reason: 'invalid_record', error: problem };
    return { ok: true, record };
  }
}

/**
 * The checks the Avro schema cannot make and the table relies on. Cheap on purpose: this runs for
 * every record, and everything else was validated by ingest before the record was written.
 */
function contractProblem(r: EventRecord): string | null {
  if (typeof r.event_id !== 'string' || !HEX32.test(r.event_id)) return 'event_id is not 32 lowercase hex characters';
  if (!Number.isSafeInteger(r.project_id) || r.project_id <= 0) return 'project_id is not a positive integer';
  if (!Number.isSafeInteger(r.timestamp_ms)) return 'timestamp_ms is not an integer';
  if (!Number.isSafeInteger(r.received_at_ms)) return 'received_at_ms is not an integer';
  if (!CLASSES.has(r.class)) return `unknown class ${JSON.stringify(r.class)}`;
  if (!SEVERITY_SET.has(r.severity)) return `unknown severity ${JSON.stringify(r.severity)}`;
  if (typeof r.attributes !== 'object' || r.attributes === null || Array.isArray(r.attributes)) {
    return 'attributes is not a JSON object';
  }
  return null;
}
