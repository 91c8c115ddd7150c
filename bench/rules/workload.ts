/**
 * The benchmark workload of bench/rules: deterministic (seeded PRNG) events, rules of a realistic mix
 * (every 5th rule aggregates: count / distinct / sum over sliding windows; about a third can only be
 * narrowed by `class`, ~5% not at all) and flows with 2% port-scan traffic. Shared by the evaluation
 * benchmark (eval.ts) and the Kafka benchmark (kafka.ts), so both measure the same records and rules.
 */
import { parseRule } from '@vigil/rule-engine';
import type { EventRecord, FlowRecord, Rule } from '@vigil/rule-engine';
import { prng } from '../prng';

export interface Workload {
  readonly PROJECTS: readonly number[];
  makeEvent(i: number): EventRecord;
  makeRule(i: number): Rule;
  makeFlow(i: number): FlowRecord;
}

/** Calls must come in the same order to give the same records (one PRNG stream per workload). */
export function createWorkload(seed = 42, T0 = 1_700_000_000_000): Workload {

  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

  const CLASSES = ['security', 'network', 'audit', 'error'] as const;
  const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
  const TYPES: Record<(typeof CLASSES)[number], string[]> = {
    security: ['auth.login_failed', 'auth.login_ok', 'auth.mfa_failed', 'auth.password_reset', 'auth.token_revoked', 'auth.session_hijack', 'authz.denied', 'auth.root_login', 'waf.block', 'ids.alert', 'malware.detected', 'secret.leaked', 'auth.api_key_used', 'auth.sso_error', 'auth.lockout'],
    network: ['flow', 'dns.query', 'dns.nxdomain', 'tls.handshake_failed', 'http.request', 'conn.reset', 'conn.refused', 'proxy.denied', 'vpn.connect', 'vpn.disconnect'],
    audit: ['user.created', 'user.deleted', 'role.granted', 'role.revoked', 'config.changed', 'key.rotated', 'export.started', 'db.query', 'file.read', 'file.write', 'billing.changed', 'project.deleted'],
    error: ['exception', 'http.5xx', 'timeout', 'oom', 'panic', 'db.deadlock', 'queue.full', 'disk.full'],
  };
  const ALL_TYPES = Object.values(TYPES).flat();
  const ENVS = ['production', 'staging', 'development', null];
  const PROJECTS = [1, 2, 3, 4, 5];
  const IPS = Array.from({ length: 5_000 }, (_, i) => (i % 4 === 0 ? `2001:db8::${i.toString(16)}` : `${10 + (i % 3) * 80}.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`));
  const USERS = Array.from({ length: 500 }, (_, i) => `user${i}`);
  const WORDS = ['failed', 'password', 'denied', 'timeout', 'root', 'admin', 'token', 'error', 'refused', 'upload', 'export', 'sudo'];

  function makeEvent(i: number): EventRecord {
    const klass = pick(CLASSES);
    const t = T0 + i * 5 - Math.floor(rnd() * 2_000);
    const user = rnd() < 0.7 ? { id: String(i % 997), email: null, username: pick(USERS), ip_address: null } : null;
    return {
      event_id: i.toString(16).padStart(32, '0'),
      project_id: pick(PROJECTS),
      timestamp_ms: t,
      received_at_ms: t + 50,
      source: rnd() < 0.5 ? 'sentry' : 'native',
      class: klass,
      severity: pick(SEVERITIES),
      type: pick(TYPES[klass]),
      message: `${pick(WORDS)} ${pick(WORDS)} for ${pick(USERS)} from ${pick(IPS)}`,
      exception_type: klass === 'error' ? pick(['TypeError', 'ValueError', 'SQLException']) : null,
      exception_value: null,
      platform: pick(['node', 'python', 'java', null]),
      release: `app@1.${i % 20}.0`,
      environment: pick(ENVS),
      tags: { region: pick(['eu', 'us', 'ap']), host: `web-${i % 40}` },
      user,
      fingerprint: ['{{ default }}'],
      client_ip: pick(IPS),
      sdk_name: 'sentry.javascript.node',
      sdk_version: '8.0.0',
      attributes: { bytes: Math.floor(rnd() * 100_000), status: pick([200, 201, 301, 403, 404, 500, 503]), http: { method: pick(['GET', 'POST', 'DELETE']) } },
    };
  }

  /** A rule of the realistic mix; `i` decides its kind (every 5th rule aggregates). */
  function makeRule(i: number): Rule {
    const klass = pick(CLASSES);
    const type = pick(TYPES[klass]);
    const project_id = rnd() < 0.5 ? null : pick(PROJECTS);
    const base = { id: `r${i}`, name: `rule ${i}`, project_id, source: 'events', severity: pick(SEVERITIES) };
    const kind = i % 20;
    let input: object;
    if (kind % 5 === 4) {
      const agg = [
        { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 50 },
        { window: '10m', group_by: ['client_ip'], function: 'distinct', field: 'user.username', threshold: 40 },
        { window: '1h', group_by: ['user.username'], function: 'sum', field: 'attributes.bytes', threshold: 5e8 },
        { window: '1m', group_by: ['tags.host', 'type'], function: 'count', threshold: 500 },
      ][(i / 5) % 4 | 0];
      input = { ...base, match: { all: [{ field: 'type', eq: type }, { field: 'severity', in: ['high', 'critical', 'medium'] }] }, aggregate: agg };
    } else if (kind < 6) {
      input = { ...base, match: { all: [{ field: 'type', eq: type }, { field: 'environment', eq: 'production' }, { field: 'message', contains: pick(WORDS) }] }, suppress: { duration: '10m', group_by: ['client_ip'] } };
    } else if (kind < 10) {
      input = { ...base, match: { all: [{ field: 'type', in: [type, pick(ALL_TYPES)] }, { field: 'client_ip', cidr: ['10.0.0.0/8', '2001:db8::/48', '192.0.2.0/24'] }, { not: { field: 'tags.region', eq: 'ap' } }] } };
    } else if (kind < 13) {
      input = { ...base, match: { all: [{ field: 'class', eq: klass }, { field: 'message', regex: `(${pick(WORDS)}|${pick(WORDS)}) for user1\\d` }] }, suppress: '1h' };
    } else if (kind < 16) {
      input = { ...base, match: { all: [{ field: 'type', eq: type }, { any: [{ field: 'attributes.status', gte: 500 }, { field: 'attributes.http.method', eq: 'DELETE' }] }] } };
    } else if (kind < 19) {
      input = { ...base, match: { all: [{ field: 'type', startswith: type.split('.')[0] as string }, { field: 'class', eq: klass }, { field: 'user.username', in: USERS.slice(0, 20) }] } };
    } else {
      // No equality every match needs: offered every record of its project (about 5% of rules).
      input = { ...base, match: { any: [{ field: 'tags.host', eq: 'web-7' }, { field: 'attributes.status', eq: 418 }] } };
    }
    const r = parseRule(input);
    if (!r.ok) throw new Error(`bench rule ${i}: ${JSON.stringify(r.issues)}`);
    return r.value;
  }

  function makeFlow(i: number): FlowRecord {
    const scanner = i % 50 === 0;
    const t = T0 + i * 5;
    const src = scanner ? `198.51.100.${i % 7}` : `10.0.${(i >> 8) & 15}.${i & 255}`;
    return {
      project_id: scanner ? 1 : (PROJECTS[(i & 255) % PROJECTS.length] as number), exporter: '192.0.2.1', version: 10, observation_domain: 0, sequence: i,
      flow_start_ms: t - 1_000, flow_end_ms: t, ip_version: 4, src_addr: src, dst_addr: scanner ? '10.0.0.9' : `93.184.${(i >> 4) & 255}.${i & 15}`,
      src_port: 40_000 + (i % 20_000), dst_port: scanner ? 1 + ((i / 50) % 1_000) : pick([443, 443, 443, 80, 53, 22, 8080]), protocol: pick([6, 6, 6, 17, 1]),
      bytes: Math.floor(rnd() * 50_000), packets: 1 + Math.floor(rnd() * 40), sampling_rate: 1, tcp_flags: 0x1b, tos: 0, input_if: 1, output_if: 2,
      src_as: 0, dst_as: 0, src_mask: 24, dst_mask: 24, next_hop: null, flow_direction: 1, biflow_direction: null, reverse_bytes: 0, reverse_packets: 0, received_at_ms: t + 20,
    };
  }

  return { PROJECTS, makeEvent, makeRule, makeFlow };
}
