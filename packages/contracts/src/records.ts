import { z } from 'zod';

/**
 * The records carried by the Kafka topics, as the services hold them in memory. Field names are the
 * Avro field names (snake_case), so a record is encoded as it is; see avro.ts for the wire schemas.
 */
export const EVENT_CLASSES = ['security', 'network', 'audit', 'error'] as const;
export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export const ALERT_EVENT_TYPES = ['alert.created', 'alert.updated', 'alert.resolved'] as const;

export type EventClass = (typeof EVENT_CLASSES)[number];
export type Severity = (typeof SEVERITIES)[number];
export type AlertStatus = (typeof ALERT_STATUSES)[number];
export type AlertEventType = (typeof ALERT_EVENT_TYPES)[number];

const nullableString = z.string().nullable();
const int = z.number().int();

export const eventRecord = z.object({
  event_id: z.string().regex(/^[0-9a-f]{32}$/),
  project_id: int.positive(),
  timestamp_ms: int,
  received_at_ms: int,
  source: z.enum(['sentry', 'native']),
  class: z.enum(EVENT_CLASSES),
  severity: z.enum(SEVERITIES),
  type: z.string(),
  message: nullableString,
  exception_type: nullableString,
  exception_value: nullableString,
  platform: nullableString,
  release: nullableString,
  environment: nullableString,
  tags: z.record(z.string(), z.string()),
  user: z
    .object({ id: nullableString, email: nullableString, username: nullableString, ip_address: nullableString })
    .nullable(),
  fingerprint: z.array(z.string()),
  client_ip: nullableString,
  sdk_name: nullableString,
  sdk_version: nullableString,
  /** Arbitrary JSON object; carried as JSON text on the wire. */
  attributes: z.record(z.string(), z.unknown()),
  /** The payload as the sender sent it (one event's JSON). */
  raw: z.instanceof(Buffer),
});
export type EventRecord = z.infer<typeof eventRecord>;

export const flowRecord = z.object({
  project_id: int.positive(),
  exporter: z.string(),
  version: z.union([z.literal(5), z.literal(9), z.literal(10)]),
  observation_domain: int.nonnegative(),
  sequence: int.nonnegative(),
  flow_start_ms: int,
  flow_end_ms: int,
  ip_version: z.union([z.literal(4), z.literal(6)]),
  src_addr: z.string(),
  dst_addr: z.string(),
  src_port: int,
  dst_port: int,
  protocol: int,
  bytes: int.nonnegative(),
  packets: int.nonnegative(),
  sampling_rate: int.positive(),
  tcp_flags: int,
  tos: int,
  input_if: int,
  output_if: int,
  src_as: int,
  dst_as: int,
  src_mask: int,
  dst_mask: int,
  next_hop: nullableString,
  flow_direction: int.nullable(),
  biflow_direction: int.nullable(),
  reverse_bytes: int.nonnegative(),
  reverse_packets: int.nonnegative(),
  received_at_ms: int,
});
export type FlowRecord = z.infer<typeof flowRecord>;

export const alertRecord = z.object({
  /** What happened to the alert: the webhook event type. */
  event_type: z.enum(ALERT_EVENT_TYPES),
  id: z.string(),
  rule_id: z.string(),
  rule_version: int,
  project_id: int.positive(),
  severity: z.enum(SEVERITIES),
  status: z.enum(ALERT_STATUSES),
  title: z.string(),
  summary: z.string(),
  group_key: z.string(),
  group_values: z.record(z.string(), z.string()),
  window_start_ms: int,
  window_end_ms: int,
  value: z.number(),
  threshold: z.number(),
  first_seen_ms: int,
  last_seen_ms: int,
  /** Arbitrary JSON (sample event ids or a flow summary); carried as JSON text on the wire. */
  evidence: z.unknown(),
  tags: z.array(z.string()),
  created_at_ms: int,
  updated_at_ms: int,
  /** Who acknowledged or resolved it (token name), when a person did. */
  actor: nullableString,
});
export type AlertRecord = z.infer<typeof alertRecord>;

export const deadLetterRecord = z.object({
  service: z.string(),
  source_topic: z.string(),
  source_partition: int,
  source_offset: z.string(),
  key: z.instanceof(Buffer).nullable(),
  value: z.instanceof(Buffer).nullable(),
  reason: z.string(),
  error: z.string(),
  failed_at_ms: int,
});
export type DeadLetterRecord = z.infer<typeof deadLetterRecord>;
