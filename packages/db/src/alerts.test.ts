import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isolatedDatabase } from '@vigil/testkit';
import type pg from 'pg';
import {
  acknowledgeAlert,
  alertPosition,
  AlertStateError,
  countAlerts,
  createOrganization,
  createPool,
  createProject,
  getAlert,
  insertDetectedAlerts,
  listAlertEvents,
  listAlerts,
  markAlertEventsAttempted,
  markAlertEventsPublished,
  migrate,
  pendingAlertEvents,
  resolveAlert,
  withTransaction,
  type DetectedAlert,
} from './index';

let pool: pg.Pool;
let orgId: number;
let otherOrgId: number;
let projectId: number;
let otherProjectId: number;

before(async () => {
  const url = await isolatedDatabase();
  await migrate({ databaseUrl: url });
  pool = createPool(url);
  orgId = (await createOrganization(pool, 'acme')).id;
  otherOrgId = (await createOrganization(pool, 'other')).id;
  projectId = (await createProject(pool, orgId, 'web')).project.id;
  otherProjectId = (await createProject(pool, otherOrgId, 'web')).project.id;
});
after(() => pool.end());

const T = 1_735_786_880_123;
const detected = (over: Partial<DetectedAlert> = {}): DetectedAlert => ({
  id: randomBytes(16).toString('hex'),
  project_id: projectId,
  rule_id: 'default.p1.brute-force-login',
  rule_version: 3,
  rule_name: 'Brute-force logins',
  severity: 'high',
  title: 'Brute-force logins: client_ip=203.0.113.9',
  summary: '10 matching events within 5m (threshold 10) for client_ip=203.0.113.9',
  group_key: '["203.0.113.9"]',
  group_values: { client_ip: '203.0.113.9' },
  window_start_ms: T,
  window_end_ms: T + 300_000,
  value: 10,
  threshold: 10,
  first_seen_ms: T + 1,
  last_seen_ms: T + 299_999,
  detected_at_ms: T + 299_999,
  evidence: { kind: 'events', event_ids: ['a'.repeat(32)] },
  tags: ['attack.t1110'],
  ...over,
});

test('detections are inserted once by id, with their times exact to the millisecond, and queue one alert.created', async () => {
  const a = detected();
  const first = await withTransaction(pool, (db) => insertDetectedAlerts(db, [a, a]));
  assert.equal(first.created.length, 1);
  const stored = first.created[0]!;
  assert.equal(stored.window_start.getTime(), T);
  assert.equal(stored.detected_at.getTime(), T + 299_999);
  assert.equal(stored.organization_id, orgId);
  assert.equal(stored.status, 'open');
  assert.equal(stored.rule_version, 3);
  assert.deepEqual(stored.evidence, a.evidence);
  const again = await withTransaction(pool, (db) => insertDetectedAlerts(db, [a, detected({ project_id: 999_999 })]));
  assert.equal(again.created.length, 0);
  assert.deepEqual(again.duplicates, [a.id]);
  assert.equal(again.unknownProject.length, 1);
  const events = await listAlertEvents(pool, orgId, a.id);
  assert.deepEqual(events.map((e) => e.id), [`alert:${a.id}:created`]);
  assert.equal(events[0]?.record.window_start_ms, T);
  assert.equal(events[0]?.record.event_type, 'alert.created');
});

test('text that PostgreSQL cannot hold (U+0000) is replaced, not refused', async () => {
  const a = detected({ group_values: { user: 'ro\u0000ot' }, evidence: { kind: 'events', distinct_values: ['x\u0000'] }, title: 't\u0000' });
  const { created } = await withTransaction(pool, (db) => insertDetectedAlerts(db, [a]));
  assert.equal(created[0]?.group_values.user, 'ro\uFFFDot');
  assert.equal(created[0]?.title, 't\uFFFD');
});

test('acknowledge then resolve: each change once, each with its own event, strictly later times', async () => {
  const a = detected();
  await withTransaction(pool, (db) => insertDetectedAlerts(db, [a]));
  assert.equal(await acknowledgeAlert(pool, otherOrgId, a.id, 'mallory'), null, 'not visible to another organization');
  const ack = await acknowledgeAlert(pool, orgId, a.id, 'alice');
  assert.equal(ack?.changed, true);
  assert.equal(ack?.alert.status, 'acknowledged');
  assert.equal(ack?.alert.acknowledged_by, 'alice');
  assert.equal((await acknowledgeAlert(pool, orgId, a.id, 'alice'))?.changed, false);
  const resolved = await resolveAlert(pool, orgId, a.id, 'bob');
  assert.equal(resolved?.alert.status, 'resolved');
  assert.ok(resolved!.alert.updated_at.getTime() > ack!.alert.updated_at.getTime());
  assert.equal((await resolveAlert(pool, orgId, a.id, 'bob'))?.changed, false);
  await assert.rejects(acknowledgeAlert(pool, orgId, a.id, 'carol'), AlertStateError);
  const events = await listAlertEvents(pool, orgId, a.id);
  assert.deepEqual(events.map((e) => e.event_type), ['alert.created', 'alert.updated', 'alert.resolved']);
  assert.equal(events[1]?.record.actor, 'alice');
  assert.equal(events[1]?.record.status, 'acknowledged');
  assert.equal(events[2]?.id, `alert:${a.id}:resolved:${resolved!.alert.updated_at.getTime()}`);
});

test('the outbox hands out unpublished events in order until they are marked published', async () => {
  const pending = await pendingAlertEvents(pool, 1000);
  assert.ok(pending.length >= 4);
  assert.deepEqual(pending.map((p) => p.seq), [...pending.map((p) => p.seq)].sort((x, y) => x - y));
  assert.ok(pending.every((p) => p.attempted_at === null));
  const first = pending.slice(0, 2).map((p) => p.id);
  await markAlertEventsAttempted(pool, first);
  const attempted = await pendingAlertEvents(pool, 2);
  assert.ok(attempted.every((p) => p.attempted_at instanceof Date));
  await markAlertEventsPublished(pool, first);
  const rest = await pendingAlertEvents(pool, 1000);
  assert.equal(rest.length, pending.length - 2);
  assert.ok(!rest.some((p) => first.includes(p.id)));
});

test('lists: filters, newest first, keyset pages without gaps or repeats', async () => {
  await withTransaction(pool, (db) => insertDetectedAlerts(db, [detected({ project_id: otherProjectId })]));
  const batch = Array.from({ length: 7 }, (_, i) => detected({ severity: i % 2 === 0 ? 'low' : 'critical', rule_id: 'paged' }));
  await withTransaction(pool, (db) => insertDetectedAlerts(db, batch));
  const all = await listAlerts(pool, { organizationId: orgId, ruleId: 'paged', limit: 100 });
  assert.equal(all.length, 7);
  assert.equal(await countAlerts(pool, { organizationId: orgId, ruleId: 'paged' }), 7);
  assert.equal(await countAlerts(pool, { organizationId: orgId, ruleId: 'paged', severity: ['critical'] }), 3);
  assert.equal(await countAlerts(pool, { organizationId: otherOrgId }), 1);
  const seen: string[] = [];
  let after: { timeUs: bigint; id: string } | undefined;
  for (;;) {
    const page = await listAlerts(pool, { organizationId: orgId, ruleId: 'paged', limit: 3, after });
    seen.push(...page.map((a) => a.id));
    if (page.length < 3) break;
    after = alertPosition(page[page.length - 1]!);
  }
  assert.deepEqual(seen, all.map((a) => a.id));
  const open = await listAlerts(pool, { organizationId: orgId, status: ['resolved'] });
  assert.ok(open.every((a) => a.status === 'resolved'));
  assert.equal((await getAlert(pool, orgId, all[0]!.id))?.id, all[0]!.id);
  assert.equal(await getAlert(pool, otherOrgId, all[0]!.id), null);
});
