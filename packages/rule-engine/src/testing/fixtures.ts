/**
 * Record builders for the tests and benchmarks: complete, valid event and flow records with
 * overridable fields. Not part of the public API.
 */
import type { EventRecord, FlowRecord } from '../records';
import { parseRule } from '../rule/schema';
import type { Rule } from '../rule/schema';

export const T0 = 1_700_000_000_000;

let seq = 0;

export function event(over: Partial<EventRecord> = {}): EventRecord {
  seq++;
  const t = over.timestamp_ms ?? T0;
  return {
    event_id: seq.toString(16).padStart(32, '0'),
    project_id: 1,
    timestamp_ms: t,
    received_at_ms: t,
    source: 'native',
    class: 'security',
    severity: 'medium',
    type: 'auth.login_failed',
    message: null,
    exception_type: null,
    exception_value: null,
    platform: null,
    release: null,
    environment: 'production',
    tags: {},
    user: null,
    fingerprint: [],
    client_ip: '198.51.100.7',
    sdk_name: null,
    sdk_version: null,
    attributes: {},
    ...over,
  };
}

export function flow(over: Partial<FlowRecord> = {}): FlowRecord {
  seq++;
  const end = over.flow_end_ms ?? T0;
  return {
    project_id: 1,
    exporter: '192.0.2.1',
    version: 10,
    observation_domain: 0,
    sequence: seq,
    flow_start_ms: end - 1_000,
    flow_end_ms: end,
    ip_version: 4,
    src_addr: '10.0.0.5',
    dst_addr: '203.0.113.10',
    src_port: 51_000,
    dst_port: 443,
    protocol: 6,
    bytes: 1_500,
    packets: 3,
    sampling_rate: 1,
    tcp_flags: 0x1b,
    tos: 0,
    input_if: 1,
    output_if: 2,
    src_as: 0,
    dst_as: 0,
    src_mask: 24,
    dst_mask: 24,
    next_hop: null,
    flow_direction: null,
    biflow_direction: null,
    reverse_bytes: null,
    reverse_packets: null,
    received_at_ms: end,
    ...over,
  };
}

/** Parses a rule that a test states inline; fails loudly when the test's rule is invalid. */
export function rule(input: unknown): Rule {
  const r = parseRule(input);
  if (!r.ok) throw new Error(`invalid test rule: ${JSON.stringify(r.issues)}`);
  return r.value;
}
