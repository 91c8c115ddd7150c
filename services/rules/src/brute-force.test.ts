/**
 * Through real Kafka and PostgreSQL: a brute-force rule fires once for 10 failed logins within 5
 * minutes and not for 9; replaying the input topics from the start — with the detection state kept,
 * and with no state at all — raises no second alert and publishes no second `alert.created`, also
 * when the replay meets the records in another order and so finds the detection in another window.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listAlerts } from '@vigil/db';
import { createHarness, metricValue, securityEvent, settle as settleAll, waitFor, type AlertWatch, type Harness } from './testing/harness';
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

test('losing the detection state and replaying in another order finds the detection in another window, and it is not stored twice', async () => {
  // Twelve failed logins 10 s apart (within the window and the lateness). Read in event-time order
  // the tenth crosses the threshold; the first run reads the last ten first, so the window that
  // crosses ends 20 s later and the alert id differs from the one a time-ordered replay derives.
  const ip = '192.0.2.55';
  const t1 = T0 + 60_000;
  const logins = Array.from({ length: 12 }, (_, i) => securityEvent(h.projectId, { client_ip: ip, timestamp_ms: t1 + i * 10_000 }));
  const producer = h.kafka.producer();
  await producer.connect();
  const send = async (partition: number, events: typeof logins) => {
    const messages = await Promise.all(events.map(async (e) => ({ partition, key: e.event_id, value: await h.codecs.events.encode(e) })));
    await producer.send({ topic: h.codecs.events.topic, messages });
  };
  const mine = async () => (await listAlerts(h.pool, { organizationId: h.organizationId, limit: 100 })).filter((a) => a.group_values.client_ip === ip);
  const announced = () => watch.created().filter((a) => a.group_values.client_ip === ip);

  const first = await h.start();
  // The last ten in three batches over three partitions, then the first two, late, on another.
  await send(3, logins.slice(2, 6));
  await send(4, logins.slice(6, 10));
  await send(5, logins.slice(10));
  await settleAll(first, 10);
  await send(0, logins.slice(0, 2));
  await settleAll(first, 12);
  await waitFor('the alert announced', () => announced().length === 1);
  const [stored] = await mine();
  assert.equal(stored?.window_end.getTime(), (Math.floor((t1 + 110_000) / 5_000) + 1) * 5_000, 'the window ends with the (5 s) bucket of the twelfth login');
  await first.stop();
  await producer.disconnect();

  // The detection state is lost (rule_state and rule_tasks of every task), then a new routing
  // group reads the input from the start, some partitions before others (as partitions read at
  // different speeds are): the first two logins, then the next eight — the tenth login now
  // crosses, in the window ending with its bucket — then the last two.
  await h.pool.query('delete from rule_state where topic like $1', [`${h.topicPrefix}%`]);
  await h.pool.query('delete from rule_tasks where topic like $1', [`${h.topicPrefix}%`]);
  const group = `${h.topicPrefix}wiped-route`;
  const topic = h.codecs.events.topic;
  const admin = h.kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.setOffsets({ groupId: group, topic, partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })) });
  const outcomes = { created: 0, duplicate: 0 };
  for (const partitions of [[0, 1, 2], [3, 4], [5]]) {
    await admin.setOffsets({ groupId: group, topic, partitions: partitions.map((partition) => ({ partition, offset: '0' })) });
    const replay = await h.start({ VIGIL_RULES_ROUTE_GROUP: group });
    await settleAll(replay, ends.filter((p) => partitions.includes(p.partition)).reduce((n, p) => n + Number(p.high), 0));
    for (const outcome of ['created', 'duplicate'] as const) outcomes[outcome] += await metricValue(replay.metrics, 'vigil_rules_alerts_total', { outcome });
    await replay.stop();
  }
  await admin.disconnect();
  assert.equal(outcomes.created, 0);
  assert.ok(outcomes.duplicate >= 1, 'the detection was found again');
  assert.deepEqual((await mine()).map((a) => a.id), [stored!.id]);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(announced().length, 1);
});
