import { createHash } from 'node:crypto';
import type { FlowRecord } from '@vigil/contracts';

/**
 * The flow_id of a stored flow: an MD5 digest (as a UUID) of everything that identifies one exported
 * record except when Vigil received it — project, exporter, version, observation domain, export
 * sequence, start and end, addresses, ports, protocol, counters, interfaces, flags and directions.
 *
 * The same record consumed twice (Kafka redelivery, a replay of the topic) or exported twice (an HTTP
 * sender retrying a body) has the same id and is stored once. Two different records cannot share one
 * unless one exporter sends two records identical in all of these in the same export packet —
 * indistinguishable duplicates by any definition. MD5 is used as a fast 128-bit content hash, not for
 * security: a sender can only make its own project's flows collide.
 */
export function flowId(r: FlowRecord): string {
  const text = [
    r.project_id, r.exporter, r.version, r.observation_domain, r.sequence, r.flow_start_ms, r.flow_end_ms,
    r.src_addr, r.dst_addr, r.src_port, r.dst_port, r.protocol, r.bytes, r.packets, r.reverse_bytes,
    r.reverse_packets, r.sampling_rate, r.input_if, r.output_if, r.tcp_flags, r.tos, r.flow_direction ?? '',
    r.biflow_direction ?? '', r.next_hop ?? '', r.src_as, r.dst_as,
  ].join('|');
  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
