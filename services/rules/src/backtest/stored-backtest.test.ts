/**
 * The backtest over the events table: a rule previewed over a past range returns the alerts the
 * stream would have raised (same ids as the engine gives the same records), from the right
 * projects only, writes nothing, and refuses invalid rules and foreign projects.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOrganization, createPool, createProject, migrate, RuleProjectError, type Pool } from '@vigil/db';
import { backtest, parseRule, RuleValidationError, type EventRecord } from '@vigil/rule-engine';
import { isolatedDatabase } from '@vigil/testkit';
import { hexId, securityEvent } from '../testing/harness';
import { backtestStoredRule } from './stored-backtest';
import { StoredDataUnavailableError, storedEvents } from './stored-records';

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
  await pool.query(`select vigil_ensure_daily_partitions('events', $1::date, $1::date)`, [new Date(DAY).toISOString().slice(0, 10)]);
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
  // This installation's database has no flows table yet.
  const flows = { id: 'scan', name: 'Scan', project_id: projectA, source: 'flows', severity: 'low', match: { field: 'protocol', eq: 'tcp' } };
  await assert.rejects(backtestStoredRule(pool, { organizationId: orgId, rule: flows, ...range }), StoredDataUnavailableError);
});
