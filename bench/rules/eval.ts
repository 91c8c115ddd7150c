/**
 * Evaluation-only microbenchmark of @vigil/rule-engine (no Kafka, no decoding): events per second
 * and µs per event through `RuleEngine.process` with 1, 10, 100 and 1,000 rules — a realistic mix
 * in which 20% of the rules aggregate (count / distinct / sum over sliding windows) — each against
 * a baseline measured in the same run: a loop that reads the fields rules look at from every
 * record (no parsing, no evaluation). A second table runs the default pack over flows.
 *
 * Records are generated up front (deterministic PRNG), so only evaluation is timed: a pool of
 * 25,000 replayed forward in time, so the process holds no more records than a consumer would. Each
 * configuration gets a fresh engine per pass, a warm-up pass, then the best of 3 timed passes
 * (2 passes over a quarter of the events for 1,000 rules), with garbage collected before each.
 *
 * Run: node --import tsx bench/rules/eval.ts [events=200000]
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createEngine, defaultRulePack, parseRule } from '@vigil/rule-engine';
import type { EventRecord, FlowRecord, InputRecord, Rule, RuleEngine, Source } from '@vigil/rule-engine';

const EVENTS = Number(process.argv[2] ?? 200_000);
const T0 = 1_700_000_000_000;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rnd = prng(42);
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

let sink = 0;

// Collect garbage before each timed pass, so one configuration does not pay for another's.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Reads what rules read from every record, so the baseline pays for the same memory traffic. */
function touchEvent(e: EventRecord): number {
  return e.type.length + e.class.length + e.severity.length + e.project_id + (e.timestamp_ms & 1) + (e.client_ip?.length ?? 0)
    + (e.message?.length ?? 0) + (e.environment?.length ?? 0) + (e.tags.region?.length ?? 0) + (e.user?.username?.length ?? 0)
    + ((e.attributes.status as number) & 1);
}

function touchFlow(f: FlowRecord): number {
  return f.src_addr.length + f.dst_addr.length + f.dst_port + f.src_port + f.protocol + (f.bytes & 1) + (f.flow_end_ms & 1) + f.project_id;
}

/**
 * The stream is a pool of POOL records replayed `rounds` times, moved forward in time between
 * rounds (untimed), so event time keeps advancing while the benchmark does not hold hundreds of
 * megabytes of records that the service would never hold (they would slow every major GC).
 */
const POOL = 25_000;

function shiftEvents(pool: EventRecord[], ms: number): void {
  for (const e of pool) {
    e.timestamp_ms += ms;
    e.received_at_ms += ms;
  }
}

function shiftFlows(pool: FlowRecord[], ms: number): void {
  for (const f of pool) {
    f.flow_start_ms += ms;
    f.flow_end_ms += ms;
    f.received_at_ms += ms;
  }
}

/** Milliseconds spent in `each` over `total` records drawn round by round from `pool`. */
function timed<T>(pool: T[], total: number, spanMs: number, shift: (pool: T[], ms: number) => void, each: (r: T) => void): number {
  let ms = 0;
  for (let done = 0, round = 0; done < total; round++) {
    if (round > 0) shift(pool, spanMs);
    const n = Math.min(pool.length, total - done);
    const start = performance.now();
    for (let i = 0; i < n; i++) each(pool[i] as T);
    ms += performance.now() - start;
    done += n;
  }
  return ms;
}

/** Best of `passes` timed passes after one warm-up pass (the machine may be shared). */
function timeBaseline<T>(pool: T[], total: number, spanMs: number, shift: (pool: T[], ms: number) => void, touch: (r: T) => number, passes = 3): number {
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass <= passes; pass++) {
    collectGarbage();
    const ms = timed(pool, total, spanMs, shift, (r) => { sink += touch(r); });
    if (pass > 0) best = Math.min(best, ms);
  }
  return total / (best / 1000);
}

interface Measured { rate: number; offered: number; alerts: number; groups: number }

/** Best of `passes` timed passes after one warm-up pass, each on a fresh engine (no carried state). */
function timeEngine<T extends InputRecord>(source: Source, rules: Rule[], pool: T[], total: number, spanMs: number, shift: (pool: T[], ms: number) => void, passes = 3): Measured {
  let best = Number.POSITIVE_INFINITY;
  let engine: RuleEngine | null = null;
  let alerts = 0;
  for (let pass = 0; pass <= passes; pass++) {
    const e = createEngine();
    const report = e.load(rules);
    if (report.rejected.length > 0) throw new Error(JSON.stringify(report.rejected[0]));
    alerts = 0;
    collectGarbage();
    const ms = timed(pool, total, spanMs, shift, (r) => { alerts += e.process(source, r).length; });
    if (pass > 0) best = Math.min(best, ms);
    engine = e;
  }
  const stats = (engine as RuleEngine).stats();
  return { rate: total / (best / 1000), offered: stats.offered / total, alerts, groups: stats.groups };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function report(label: string, m: Measured, baseline: number): string {
  const us = 1e6 / m.rate;
  const baseUs = 1e6 / baseline;
  return `${label.padEnd(16)} ${fmt(m.rate).padStart(12)} ${us.toFixed(2).padStart(9)} ${(us - baseUs).toFixed(2).padStart(11)} ${(m.rate / baseline).toFixed(3).padStart(10)} ${m.offered.toFixed(2).padStart(9)} ${String(m.alerts).padStart(7)} ${String(m.groups).padStart(7)}`;
}

const header = `${'rules'.padEnd(16)} ${'records/s'.padStart(12)} ${'µs/record'.padStart(9)} ${'µs over base'.padStart(11)} ${'× baseline'.padStart(10)} ${'offered'.padStart(9)} ${'alerts'.padStart(7)} ${'groups'.padStart(7)}`;

const events = Array.from({ length: POOL }, (_, i) => makeEvent(i));
const eventSpan = POOL * 5;
const allRules = Array.from({ length: 1_000 }, (_, i) => makeRule(i));

console.log(`@vigil/rule-engine evaluation benchmark — ${fmt(EVENTS)} records per configuration (a pool of ${fmt(POOL)} replayed forward in time), node ${process.version}, one core`);
console.log(`"offered" = rule evaluations the router hands each record (the other rules are never evaluated).\n`);
const eventBaseline = timeBaseline(events, EVENTS, eventSpan, shiftEvents, touchEvent);
console.log(`baseline (read the fields rules use, no evaluation): ${fmt(eventBaseline)} events/s, ${(1e6 / eventBaseline).toFixed(3)} µs/event\n`);
console.log(header);
let at100 = 0;
for (const n of [1, 10, 100, 1_000]) {
  const rules = allRules.slice(0, n);
  const aggregating = rules.filter((r) => r.aggregate !== null).length;
  const m = timeEngine('events', rules, events, n >= 1_000 ? EVENTS / 4 : EVENTS, eventSpan, shiftEvents, n >= 1_000 ? 2 : 3);
  if (n === 100) at100 = m.rate;
  console.log(report(`${n} (${aggregating} agg)`, m, eventBaseline));
}

const flows = Array.from({ length: POOL }, (_, i) => makeFlow(i));
const flowSpan = POOL * 5;
const pack = defaultRulePack({ projectId: null, blocklist: ['203.0.113.0/24', '198.18.0.0/15'] });
const flowBaseline = timeBaseline(flows, EVENTS, flowSpan, shiftFlows, touchFlow);
console.log(`\nflows, default pack (${pack.filter((r) => r.source === 'flows').length} flow rules, 3 aggregating), 2% port-scan traffic`);
console.log(`baseline: ${fmt(flowBaseline)} flows/s, ${(1e6 / flowBaseline).toFixed(3)} µs/flow\n`);
console.log(header);
console.log(report('default pack', timeEngine('flows', pack, flows, EVENTS, flowSpan, shiftFlows), flowBaseline));

console.log(`\ngoal: ≥ 100,000 events/s with 100 rules on one core — ${at100 >= 100_000 ? 'met' : 'NOT met'} (${fmt(at100)} events/s)`);
if (sink === 0.5) console.log(sink);
