import { isIP } from 'node:net';
import type { KafkaMessage } from 'kafkajs';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { FlowRecord } from '@vigil/contracts';
import type { TopicCodec } from '@vigil/kafka';

/**
 * Decides, for one consumed `vigil.flows.v1` message, whether it is a storable flow or poison.
 * Poison is what no retry can fix: not Confluent-framed Avro, a schema id the registry does not know,
 * bytes the schema cannot decode, or values the table cannot hold (an address that is not one, a
 * port or protocol out of range). A registry that cannot be reached is not poison: that error is
 * thrown and the batch retried.
 */
export type FlowDecoding = { ok: true; record: FlowRecord } | { ok: false; reason: FlowPoisonReason; error: string };

export type FlowPoisonReason = 'not_confluent_avro' | 'unknown_schema' | 'undecodable' | 'invalid_record';

export class FlowRecordDecoder {
  /** Schema ids known to exist, so the registry is asked once per id. */
  private readonly knownSchemas = new Set<number>();

  constructor(
    private readonly codec: TopicCodec<'flows'>,
    private readonly registry: SchemaRegistry,
  ) {}

  async decode(message: KafkaMessage): Promise<FlowDecoding> {
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
    let record: FlowRecord;
    try {
      record = await this.codec.decode(value);
    } catch (error) {
      return { ok: false, reason: 'undecodable', error: `Avro decoding failed: ${(error as Error).message}` };
    }
    const problem = flowContractProblem(record);
    if (problem !== null) return { ok: false, reason: 'invalid_record', error: problem };
    return { ok: true, record };
  }
}

const between = (v: unknown, lo: number, hi: number): boolean => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;
const UINT32 = 0xffffffff;
/** PostgreSQL timestamps reach back to 4713 BC; safe integers reach forward past its limit anyway. */
const EARLIEST_MS = -200_000_000_000_000;

/** What the table's types and checks need, tested once per record (the collector produced it correctly). */
export function flowContractProblem(r: FlowRecord): string | null {
  if (!Number.isSafeInteger(r.project_id) || r.project_id <= 0) return 'project_id is not a positive integer';
  if (r.version !== 5 && r.version !== 9 && r.version !== 10) return `version ${r.version} is not 5, 9 or 10`;
  if (r.ip_version !== 4 && r.ip_version !== 6) return `ip_version ${r.ip_version} is not 4 or 6`;
  if (isIP(r.exporter) === 0) return `exporter ${JSON.stringify(r.exporter)} is not an IP address`;
  if (isIP(r.src_addr) === 0) return `src_addr ${JSON.stringify(r.src_addr)} is not an IP address`;
  if (isIP(r.dst_addr) === 0) return `dst_addr ${JSON.stringify(r.dst_addr)} is not an IP address`;
  if (r.next_hop !== null && isIP(r.next_hop) === 0) return `next_hop ${JSON.stringify(r.next_hop)} is not an IP address`;
  for (const k of ['flow_start_ms', 'flow_end_ms', 'received_at_ms'] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] < EARLIEST_MS) return `${k} is not a time PostgreSQL can hold`;
  }
  if (!between(r.src_port, 0, 65535) || !between(r.dst_port, 0, 65535)) return 'a port is outside 0..65535';
  if (!between(r.protocol, 0, 255)) return `protocol ${r.protocol} is outside 0..255`;
  if (!between(r.tos, 0, 255) || !between(r.src_mask, 0, 128) || !between(r.dst_mask, 0, 128)) return 'tos or a mask is out of range';
  if (!between(r.tcp_flags, 0, 65535)) return 'tcp_flags is outside 0..65535';
  if (r.flow_direction !== null && !between(r.flow_direction, 0, 255)) return 'flow_direction is out of range';
  if (r.biflow_direction !== null && !between(r.biflow_direction, 0, 255)) return 'biflow_direction is out of range';
  for (const k of ['observation_domain', 'sequence', 'input_if', 'output_if', 'src_as', 'dst_as'] as const) {
    if (!between(r[k], 0, UINT32)) return `${k} is outside 0..2^32-1`;
  }
  for (const k of ['bytes', 'packets', 'reverse_bytes', 'reverse_packets'] as const) {
    if (!Number.isSafeInteger(r[k]) || r[k] < 0) return `${k} is not a non-negative integer`;
  }
  if (!Number.isSafeInteger(r.sampling_rate) || r.sampling_rate < 1) return 'sampling_rate is not a positive integer';
  return null;
}
