import type { TopicKey } from './topics';

/**
 * Avro schemas of the topics' values (CONTRACT.md §1). Registered under the TopicNameStrategy subject
 * `<topic>-value` with BACKWARD compatibility, so any Confluent-aware consumer can read every topic.
 * Evolve them only by adding fields with defaults (or removing fields), never by renaming.
 */
const nullable = (type: unknown) => ['null', type];
const tsMillis = { type: 'long', logicalType: 'timestamp-millis' };
const severity = { type: 'enum', name: 'Severity', symbols: ['critical', 'high', 'medium', 'low', 'info'] };

const eventSchema = {
  type: 'record',
  name: 'Event',
  namespace: 'dev.vigil.events.v1',
  doc: 'A normalized security, audit, network or error event.',
  fields: [
    { name: 'event_id', type: 'string', doc: '32 lowercase hex characters' },
    { name: 'project_id', type: 'long' },
    { name: 'timestamp_ms', type: tsMillis },
    { name: 'received_at_ms', type: tsMillis },
    { name: 'source', type: { type: 'enum', name: 'EventSource', symbols: ['sentry', 'native'] } },
    { name: 'class', type: { type: 'enum', name: 'EventClass', symbols: ['security', 'network', 'audit', 'error'] } },
    { name: 'severity', type: severity },
    { name: 'type', type: 'string' },
    { name: 'message', type: nullable('string'), default: null },
    { name: 'exception_type', type: nullable('string'), default: null },
    { name: 'exception_value', type: nullable('string'), default: null },
    { name: 'platform', type: nullable('string'), default: null },
    { name: 'release', type: nullable('string'), default: null },
    { name: 'environment', type: nullable('string'), default: null },
    { name: 'tags', type: { type: 'map', values: 'string' }, default: {} },
    {
      name: 'user',
      type: nullable({
        type: 'record',
        name: 'User',
        fields: [
          { name: 'id', type: nullable('string'), default: null },
          { name: 'email', type: nullable('string'), default: null },
          { name: 'username', type: nullable('string'), default: null },
          { name: 'ip_address', type: nullable('string'), default: null },
        ],
      }),
      default: null,
    },
    { name: 'fingerprint', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'client_ip', type: nullable('string'), default: null },
    { name: 'sdk_name', type: nullable('string'), default: null },
    { name: 'sdk_version', type: nullable('string'), default: null },
    { name: 'attributes', type: 'string', doc: 'JSON object text' },
    { name: 'raw', type: 'bytes', doc: 'the event as the sender sent it (JSON)' },
  ],
};

const flowSchema = {
  type: 'record',
  name: 'Flow',
  namespace: 'dev.vigil.flows.v1',
  doc: 'A normalized NetFlow v5/v9 or IPFIX flow record; bytes and packets are already multiplied by sampling_rate.',
  fields: [
    { name: 'project_id', type: 'long' },
    { name: 'exporter', type: 'string', doc: 'exporter IP address' },
    { name: 'version', type: 'int', doc: '5, 9 or 10 (IPFIX)' },
    { name: 'observation_domain', type: 'long' },
    { name: 'sequence', type: 'long' },
    { name: 'flow_start_ms', type: tsMillis },
    { name: 'flow_end_ms', type: tsMillis },
    { name: 'ip_version', type: 'int' },
    { name: 'src_addr', type: 'string' },
    { name: 'dst_addr', type: 'string' },
    { name: 'src_port', type: 'int' },
    { name: 'dst_port', type: 'int' },
    { name: 'protocol', type: 'int' },
    { name: 'bytes', type: 'long' },
    { name: 'packets', type: 'long' },
    { name: 'sampling_rate', type: 'long', default: 1 },
    { name: 'tcp_flags', type: 'int', default: 0 },
    { name: 'tos', type: 'int', default: 0 },
    { name: 'input_if', type: 'long', default: 0 },
    { name: 'output_if', type: 'long', default: 0 },
    { name: 'src_as', type: 'long', default: 0 },
    { name: 'dst_as', type: 'long', default: 0 },
    { name: 'src_mask', type: 'int', default: 0 },
    { name: 'dst_mask', type: 'int', default: 0 },
    { name: 'next_hop', type: nullable('string'), default: null },
    { name: 'flow_direction', type: nullable('int'), default: null, doc: 'IPFIX IE 61: 0 ingress, 1 egress' },
    { name: 'biflow_direction', type: nullable('int'), default: null, doc: 'IPFIX IE 239 (RFC 5103)' },
    { name: 'reverse_bytes', type: 'long', default: 0 },
    { name: 'reverse_packets', type: 'long', default: 0 },
    { name: 'received_at_ms', type: tsMillis },
  ],
};

const alertSchema = {
  type: 'record',
  name: 'AlertEvent',
  namespace: 'dev.vigil.alerts.v1',
  doc: 'A change to an alert: created, updated (acknowledged, new evidence) or resolved.',
  fields: [
    { name: 'event_type', type: 'string', doc: 'alert.created, alert.updated or alert.resolved' },
    { name: 'id', type: 'string' },
    { name: 'rule_id', type: 'string' },
    { name: 'rule_version', type: 'int' },
    { name: 'project_id', type: 'long' },
    { name: 'severity', type: severity },
    { name: 'status', type: { type: 'enum', name: 'AlertStatus', symbols: ['open', 'acknowledged', 'resolved'] } },
    { name: 'title', type: 'string' },
    { name: 'summary', type: 'string' },
    { name: 'group_key', type: 'string' },
    { name: 'group_values', type: { type: 'map', values: 'string' }, default: {} },
    { name: 'window_start_ms', type: tsMillis },
    { name: 'window_end_ms', type: tsMillis },
    { name: 'value', type: 'double' },
    { name: 'threshold', type: 'double' },
    { name: 'first_seen_ms', type: tsMillis },
    { name: 'last_seen_ms', type: tsMillis },
    { name: 'evidence', type: 'string', default: 'null', doc: 'JSON text' },
    { name: 'tags', type: { type: 'array', items: 'string' }, default: [] },
    { name: 'created_at_ms', type: tsMillis },
    { name: 'updated_at_ms', type: tsMillis },
    { name: 'actor', type: nullable('string'), default: null },
  ],
};
const deadLetterSchema = {
  type: 'record',
  name: 'DeadLetter',
  namespace: 'dev.vigil.deadletter.v1',
  doc: 'A record a consumer could not process, with the reason, so it can be inspected and replayed.',
  fields: [
    { name: 'service', type: 'string' },
    { name: 'source_topic', type: 'string' },
    { name: 'source_partition', type: 'int' },
    { name: 'source_offset', type: 'string' },
    { name: 'key', type: nullable('bytes'), default: null },
    { name: 'value', type: nullable('bytes'), default: null },
    { name: 'reason', type: 'string' },
    { name: 'error', type: 'string' },
    { name: 'failed_at_ms', type: tsMillis },
  ],
};

export const AVRO_SCHEMAS: Record<TopicKey, object> = {
  events: eventSchema,
  flows: flowSchema,
  alerts: alertSchema,
  deadletter: deadLetterSchema,
};

/** Confluent TopicNameStrategy subject for a topic's values. */
export const subjectFor = (topic: string) => `${topic}-value`;
