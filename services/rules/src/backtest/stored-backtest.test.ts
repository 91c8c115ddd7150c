/**
 * The backtest over the events table: a rule previewed over a past range returns the alerts the
 * stream would have raised (same ids as the engine gives the same records), from the right
 * projects only, writes nothing, and refuses invalid rules and foreign projects.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOrganization, createPool, createProject, migrate, RuleProjectError, type Pool } from '@vigil/db';
import { backtest, parseRule, RuleValidationError, type EventRecord, type FlowRecord } from '@vigil/rule-engine';
import { isolatedDatabase } from '@vigil/testkit';
import { hexId, securityEvent } from '../testing/harness';
import { backtestStoredRule } from './stored-backtest';
import { StoredDataUnavailableError, storedEvents, storedFlows } from './stored-records';

let pool: Pool;
let orgId: number;
let projectA: number;
let projectB: number;
let foreignProject: number;
const DAY = Date.UTC(2026, 10, 20);
const T0 = DAY + 10 * 3600_000;
const stored: EventRecord[] = [];

async function insert(events: readonly EventRecord[]): Promise<void> {
  for (const e of events) {
    await pool.query(
      `insert into events (project_id, event_id, timestamp, received_at, source, class, severity, type, message, environment, tags,
         user_username, fingerprint, client_ip, attributes, raw)
       values ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [e.project_id, e.event_id, new Date(e.timestamp_ms), new Date(e.received_at_ms), e.source, e.class, e.severity, e.type, e.message,
        e.environment, JSON.stringify(e.tags), e.user?.username ?? null, e.fingerprint, e.client_ip, JSON.stringify(e.attributes), e.raw],
    );
  }
}

const brute = (over: object = {}) => ({
  id: 'brute',
  name: 'Brute force',
  project_id: projectA,
  source: 'events',
  severity: 'high',
  match: { all: [{ field: 'type', eq: 'auth.login_failed' }, { field: 'user.username', eq: 'root' }] },
  aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 10 },
  ...over,
});

before(async () => {
  const url = await isolatedDatabase();
  await migrate({ databaseUrl: url });
  pool = createPool(url);
  orgId = (await createOrganization(pool, 'acme')).id;
  projectA = (await createProject(pool, orgId, 'web')).project.id;
  projectB = (await createProject(pool, orgId, 'api')).project.id;
  const other = (await createOrganization(pool, 'other')).id;
  foreignProject = (await createProject(pool, other, 'web')).project.id;
  for (const table of ['events', 'flows']) {
    await pool.query(`select vigil_ensure_daily_partitions($1::regclass, $2::date, $2::date)`, [table, new Date(DAY).toISOString().slice(0, 10)]);
  }
  const ev = (project: number, ip: string, i: number, step: number) =>
    securityEvent(project, { event_id: hexId(), client_ip: ip, timestamp_ms: T0 + i * step, received_at_ms: T0 + i * step + 5 });
  for (let i = 0; i < 10; i++) stored.push(ev(projectA, '203.0.113.9', i, 20_000));
  for (let i = 0; i < 9; i++) stored.push(ev(projectA, '198.51.100.7', i, 20_000));
  for (let i = 0; i < 10; i++) stored.push(ev(projectB, '203.0.113.9', i, 10_000));
  for (let i = 0; i < 10; i++) stored.push(ev(foreignProject, '203.0.113.9', i, 10_000));
  await insert(stored);
});
after(() => pool.end());

const range = { since: new Date(T0 - 3600_000), until: new Date(T0 + 3600_000) };

test('stored events read back as the records the stream carried, in event-time order', async () => {
  const read: EventRecord[] = [];
  for await (const e of storedEvents(pool, { projectIds: [projectA, projectB], ...range, pageSize: 7 })) read.push(e);
  assert.equal(read.length, 29);
  assert.deepEqual(read.map((e) => e.timestamp_ms), [...read.map((e) => e.timestamp_ms)].sort((a, b) => a - b));
  const original = stored.find((e) => e.event_id === read[0]!.event_id)!;
  assert.equal(read[0]!.client_ip, original.client_ip);
  assert.deepEqual(read[0]!.tags, original.tags);
  assert.equal(read[0]!.user?.username, 'root');
});

test('a project rule previews over its project: the alert the stream would have raised, nothing written', async () => {
  const result = await backtestStoredRule(pool, { organizationId: orgId, rule: brute(), ...range });
  assert.equal(result.alerts.length, 1);
  assert.equal(result.records, 19);
  assert.deepEqual(result.alerts[0]!.group_values, { client_ip: '203.0.113.9' });
  const parsed = parseRule(brute());
  assert.ok(parsed.ok);
  const inMemory = await backtest(parsed.value, stored.filter((e) => e.project_id === projectA).sort((a, b) => a.timestamp_ms - b.timestamp_ms));
  assert.deepEqual(result.alerts.map((a) => a.id), inMemory.alerts.map((a) => a.id));
  assert.equal((await pool.query('select 1 from alerts')).rowCount, 0);
});

test('an organization-wide rule previews over every project of the organization, disabled or not', async () => {
  const result = await backtestStoredRule(pool, { organizationId: orgId, rule: brute({ project_id: null, enabled: false }), ...range });
  assert.deepEqual(result.alerts.map((a) => a.project_id).sort(), [projectA, projectB].sort());
  assert.equal(result.records, 29);
  const narrow = await backtestStoredRule(pool, { organizationId: orgId, rule: brute({ project_id: null }), since: new Date(T0 + 95_000), until: range.until });
  assert.deepEqual(narrow.alerts.map((a) => a.project_id), [], 'a range that cuts the bursts short finds nothing');
});

test('invalid rules, foreign projects and sources that are not stored are refused', async () => {
  await assert.rejects(backtestStoredRule(pool, { organizationId: orgId, rule: brute({ aggregate: { window: '5m', function: 'count', threshold: -1 } }), ...range }), RuleValidationError);
  await assert.rejects(backtestStoredRule(pool, { organizationId: orgId, rule: brute({ project_id: foreignProject }), ...range }), RuleProjectError);
  // A database whose store keeps no flows has nothing to run a flow rule over.
  const url = await isolatedDatabase();
  await migrate({ databaseUrl: url });
  const bare = createPool(url);
  try {
    await bare.query('drop table flows');
    const org = (await createOrganization(bare, 'acme')).id;
    const project = (await createProject(bare, org, 'web')).project.id;
    const flows = { id: 'scan', name: 'Scan', project_id: project, source: 'flows', severity: 'low', match: { field: 'protocol', eq: 'tcp' } };
    await assert.rejects(backtestStoredRule(bare, { organizationId: org, rule: flows, ...range }), StoredDataUnavailableError);
  } finally {
    await bare.end();
  }
});

test('stored flows read back exactly and preview a port scan', async () => {
  const flows: FlowRecord[] = [];
  for (let i = 0; i < 60; i++) {
    const end = T0 + i * 2000 + 123;
    flows.push({
      project_id: projectA, exporter: '192.0.2.1', version: 10, observation_domain: 1, sequence: i, flow_start_ms: end - 7, flow_end_ms: end,
      ip_version: i % 2 === 0 ? 4 : 6, src_addr: i % 2 === 0 ? '198.51.100.66' : '2001:db8::66', dst_addr: i % 2 === 0 ? '10.0.0.5' : '2001:db8::5',
      src_port: 40_000 + i, dst_port: 20 + i, protocol: 6, bytes: 40, packets: 1, sampling_rate: 1, tcp_flags: 2, tos: 0, input_if: 1, output_if: 2,
      src_as: 0, dst_as: 0, src_mask: 0, dst_mask: 0, next_hop: null, flow_direction: null, biflow_direction: null, reverse_bytes: 0, reverse_packets: 0,
      received_at_ms: end + 1000,
    });
  }
  const columns = Object.keys(flows[0]!).filter((k) => !k.endsWith('_ms'));
  for (const f of flows) {
    const values = columns.map((c) => (f as unknown as Record<string, unknown>)[c]);
    await pool.query(
      `insert into flows (flow_id, flow_start, flow_end, received_at, ${columns.join(', ')})
       values (gen_random_uuid(), $1, $2, $3, ${columns.map((_, i) => `$${i + 4}`).join(', ')})`,
      [new Date(f.flow_start_ms), new Date(f.flow_end_ms), new Date(f.received_at_ms), ...values],
    );
  }
  const read: FlowRecord[] = [];
  for await (const f of storedFlows(pool, { projectIds: [projectA], ...range, pageSize: 16 })) read.push(f);
  assert.deepEqual(read, flows);

  const scan = (addr: string) => ({
    id: 'scan', name: 'Scan', project_id: projectA, source: 'flows', severity: 'medium',
    match: { all: [{ field: 'protocol', eq: 'tcp' }, { field: 'src_addr', cidr: addr }] },
    aggregate: { window: '5m', group_by: ['src_addr'], function: 'distinct', field: 'dst_port', threshold: 25 },
  });
  const result = await backtestStoredRule(pool, { organizationId: orgId, rule: scan('198.51.100.0/24'), ...range });
  assert.equal(result.records, 60);
  assert.equal(result.alerts.length, 1);
  assert.deepEqual(result.alerts[0]!.group_values, { src_addr: '198.51.100.66' });
  assert.equal(result.alerts[0]!.value, 25);
  const v6 = await backtestStoredRule(pool, { organizationId: orgId, rule: scan('2001:db8::/32'), ...range });
  assert.deepEqual(v6.alerts.map((a) => a.group_values.src_addr), ['2001:db8::66']);
});
