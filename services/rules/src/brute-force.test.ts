/**
 * Through real Kafka and PostgreSQL: a brute-force rule fires once for 10 failed logins within 5
 * minutes and not for 9; replaying the input topics from the start — with the detection state kept,
 * and with no state at all — raises no second alert and publishes no second `alert.created`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listAlerts } from '@vigil/db';
import { createHarness, metricValue, securityEvent, waitFor, type AlertWatch, type Harness } from './testing/harness';
import type { RunningRules } from './rules-service';

let h: Harness;
let watch: AlertWatch;
const ATTACKER = '203.0.113.9';
const PROBER = '198.51.100.7';
const T0 = Date.now() - 10 * 60_000;

before(async () => {
  h = await createHarness('rbf');
  await h.rule({
    id: 'ssh-brute-force',
    name: 'SSH brute force',
    project_id: h.projectId,
    source: 'events',
    severity: 'high',
    tags: ['attack.credential_access', 'attack.t1110'],
    match: { all: [{ field: 'type', eq: 'auth.login_failed' }, { field: 'tags.service', eq: 'sshd' }] },
    aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 10 },
    suppress: '1h',
  });
  watch = await h.watchAlerts();
});
after(() => h.close());

/** Waits until a worker applied `n` routed records and its publisher has nothing pending. */
async function settle(worker: RunningRules, n: number, name = 'vigil_rules_records_applied_total'): Promise<void> {
  await waitFor(`${n} records through the detection stage`, async () => (await metricValue(worker.metrics, name)) >= n);
  await waitFor('the alert publisher', () => worker.status().publisher);
  await worker.flushAlerts();
}

const attackerIds: string[] = [];

test('ten failed logins within five minutes raise one alert; nine raise none', async () => {
  const worker = await h.start();
  const events = [];
  for (let i = 0; i < 10; i++) {
    const e = securityEvent(h.projectId, { client_ip: ATTACKER, timestamp_ms: T0 + i * 20_000 });
    attackerIds.push(e.event_id);
    events.push(e);
  }
  for (let i = 0; i < 9; i++) events.push(securityEvent(h.projectId, { client_ip: PROBER, timestamp_ms: T0 + i * 25_000 }));
  // Successful logins and other services from the same address are not failed SSH logins.
  events.push(securityEvent(h.projectId, { client_ip: PROBER, type: 'auth.login_ok', timestamp_ms: T0 + 1000 }));
  events.push(securityEvent(h.projectId, { client_ip: PROBER, tags: { service: 'nginx' }, timestamp_ms: T0 + 2000 }));
  await h.produceEvents(events);

  await settle(worker, 19);
  const created = await waitFor('one alert.created on the topic', () => watch.created().length >= 1 && watch.created());
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(watch.created().length, 1);
  const alert = created[0]!;
  assert.equal(alert.rule_id, 'ssh-brute-force');
  assert.equal(alert.rule_version, 1);
  assert.equal(alert.project_id, h.projectId);
  assert.deepEqual(alert.group_values, { client_ip: ATTACKER });
  assert.equal(alert.value, 10);
  assert.equal(alert.threshold, 10);
  assert.equal(alert.status, 'open');
  assert.equal(alert.first_seen_ms, T0);
  assert.equal(alert.last_seen_ms, T0 + 9 * 20_000);
  assert.deepEqual(alert.tags, ['attack.credential_access', 'attack.t1110']);
  const evidence = alert.evidence as { kind: string; event_ids: string[] };
  assert.equal(evidence.kind, 'events');
  assert.equal(evidence.event_ids.length, 10);
  assert.ok(evidence.event_ids.every((id) => attackerIds.includes(id)));

  const stored = await listAlerts(h.pool, { organizationId: h.organizationId });
  assert.deepEqual(stored.map((a) => a.id), [alert.id]);
  assert.equal(stored[0]?.rule_version, 1);
  assert.equal(await metricValue(worker.metrics, 'vigil_rules_input_records_total', { outcome: 'unmatched' }), 2);
  await worker.stop();
});

test('replaying the input topics from the start, with the detection state kept, applies nothing twice', async () => {
  // A new routing consumer group reads both topics from offset 0 and routes every record again.
  const worker = await h.start({ VIGIL_RULES_ROUTE_GROUP: `${h.topicPrefix}replay-route` });
  await waitFor('every record routed again', async () => (await metricValue(worker.metrics, 'vigil_rules_records_dropped_total', { reason: 'repeated_origin' })) >= 19);
  await waitFor('the alert publisher', () => worker.status().publisher);
  await worker.flushAlerts();
  assert.equal(await metricValue(worker.metrics, 'vigil_rules_records_applied_total'), 0);
  assert.equal((await listAlerts(h.pool, { organizationId: h.organizationId })).length, 1);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(watch.created().length, 1);
  await worker.stop();
});

test('replaying from the start with no state at all detects the same alert again, and it is neither stored nor announced twice', async () => {
  const worker = await h.start({
    VIGIL_RULES_ROUTE_GROUP: `${h.topicPrefix}fresh-route`,
    VIGIL_RULES_DETECT_GROUP: `${h.topicPrefix}fresh-detect`,
    VIGIL_RULES_REPARTITION_TOPIC: `${h.topicPrefix}fresh.repartition`,
  });
  await settle(worker, 19);
  await waitFor('the detection found again', async () => (await metricValue(worker.metrics, 'vigil_rules_alerts_total', { outcome: 'duplicate' })) === 1);
  assert.equal(await metricValue(worker.metrics, 'vigil_rules_alerts_total', { outcome: 'created' }), 0);
  assert.equal((await listAlerts(h.pool, { organizationId: h.organizationId })).length, 1);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(watch.created().length, 1);
  assert.equal(watch.records.length, 1);
  await worker.stop();
});
