/**
 * The two record kinds rules run on, as they arrive from `vigil.events.v1` and `vigil.flows.v1`,
 * and the two facts the engine derives from every record: its event time and its identity.
 */

export type Source = 'events' | 'flows';

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface EventUser {
  id: string | null;
  email: string | null;
  username: string | null;
  ip_address: string | null;
}

export interface EventRecord {
  event_id: string;
  project_id: number;
  timestamp_ms: number;
  received_at_ms: number;
  source: 'sentry' | 'native';
  class: 'security' | 'network' | 'audit' | 'error';
  severity: Severity;
  type: string;
  message: string | null;
  exception_type: string | null;
  exception_value: string | null;
  platform: string | null;
  release: string | null;
  environment: string | null;
  tags: Record<string, string>;
  user: EventUser | null;
  fingerprint: string[];
  client_ip: string | null;
  sdk_name: string | null;
  sdk_version: string | null;
  attributes: Record<string, unknown>;
  raw?: unknown;
}

export interface FlowRecord {
  project_id: number;
  exporter: string;
  version: number;
  observation_domain: number;
  sequence: number;
  flow_start_ms: number;
  flow_end_ms: number;
  ip_version: number;
  src_addr: string;
  dst_addr: string;
  src_port: number;
  dst_port: number;
  protocol: number;
  bytes: number;
  packets: number;
  sampling_rate: number;
  tcp_flags: number;
  tos: number;
  input_if: number;
  output_if: number;
  src_as: number;
  dst_as: number;
  src_mask: number;
  dst_mask: number;
  next_hop: string | null;
  flow_direction: number | null;
  biflow_direction: number | null;
  reverse_bytes: number | null;
  reverse_packets: number | null;
  received_at_ms: number;
}

export type InputRecord = EventRecord | FlowRecord;

export interface RecordOf {
  events: EventRecord;
  flows: FlowRecord;
}

/**
 * Event time of a record: `timestamp_ms` for events, `flow_end_ms` for flows (a flow is known
 * once it has ended or been exported on an active timeout). A time that is not a positive finite
 * number, or that lies more than `maxFutureSkewMs` after `received_at_ms` (a sender with a wrong
 * clock), is replaced by `received_at_ms`, as Relay does for Sentry events.
 */
export function eventTime(source: Source, record: InputRecord, maxFutureSkewMs: number): { time: number; clamped: boolean } {
  const time = eventTimeMs(source, record, maxFutureSkewMs);
  return { time, clamped: time !== claimedTime(source, record) };
}

function claimedTime(source: Source, record: InputRecord): number {
  return source === 'events' ? (record as EventRecord).timestamp_ms : (record as FlowRecord).flow_end_ms;
}

/** `eventTime` without the allocation, for the per-record path. */
export function eventTimeMs(source: Source, record: InputRecord, maxFutureSkewMs: number): number {
  const claimed = claimedTime(source, record);
  const received = record.received_at_ms;
  if (typeof claimed !== 'number' || !(claimed > 0) || claimed === Number.POSITIVE_INFINITY) return received;
  return claimed > received + maxFutureSkewMs ? received : claimed;
}

/**
 * Identity of a record, used in the id of an alert raised by a single record. Events carry
 * `event_id`; flows have no id, so the identity is the exporter, observation domain, export
 * sequence, times and 5-tuple, which together tell two flow records apart.
 */
export function recordIdentity(source: Source, record: InputRecord): string {
  if (source === 'events') return (record as EventRecord).event_id;
  const f = record as FlowRecord;
  return [f.exporter, f.observation_domain, f.sequence, f.flow_start_ms, f.flow_end_ms,
    f.src_addr, f.src_port, f.dst_addr, f.dst_port, f.protocol].join('|');
}
