/**
 * The outbox publisher against real Kafka and PostgreSQL: every alert event reaches the topic once,
 * also when the previous publisher died after Kafka acknowledged the event but before it could mark
 * the row (the event is found on the topic and not sent again), or died after marking the attempt
 * but before sending (it is not found, and sent). Only one of several publishers publishes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { acknowledgeAlert, insertDetectedAlerts, withTransaction, type DetectedAlert } from '@vigil/db';
import { BatchingProducer } from '@vigil/kafka';
import { createMetrics } from '@vigil/service-runtime';
import { silentLogger } from '@vigil/testkit';
import { createRulesMetrics, type RulesMetrics } from '../rules-metrics';
import { createHarness, hexId, metricValue, waitFor, type AlertWatch, type Harness } from '../testing/harness';
import { startAlertPublisher, type AlertPublisher } from './alert-publisher';

let h: Harness;
let watch: AlertWatch;
let producer: BatchingProducer;
const publishers: AlertPublisher[] = [];

before(async () => {
  h = await createHarness('rpb');
  watch = await h.watchAlerts();
  producer = new BatchingProducer(h.kafka);
  await producer.connect();
});
after(async () => {
  for (const p of publishers) await p.stop();
  await producer.disconnect();
  await h.close();
});

function publisher(): { publisher: AlertPublisher; metrics: RulesMetrics; registry: ReturnType<typeof createMetrics> } {
  const registry = createMetrics('rules-test');
  const metrics = createRulesMetrics(registry);
  const p = startAlertPublisher({ pool: h.pool, databaseUrl: h.databaseUrl, kafka: h.kafka, producer, codec: h.codecs.alerts, metrics, logger: silentLogger(), pollIntervalMs: 200 });
  publishers.push(p);
  return { publisher: p, metrics, registry };
}

function detection(): DetectedAlert {
  const t = Date.now() - 60_000;
  return {
    id: hexId(),
    project_id: h.projectId,
    rule_id: 'brute',
    rule_version: 1,
    rule_name: 'Brute force',
    severity: 'high',
    title: 'Brute force: client_ip=192.0.2.1',
    summary: '10 matching events within 5m (threshold 10) for client_ip=192.0.2.1',
    group_key: '["192.0.2.1"]',
    group_values: { client_ip: '192.0.2.1' },
    window_start_ms: t - 300_000,
    window_end_ms: t,
    value: 10,
    threshold: 10,
    first_seen_ms: t - 200_000,
    last_seen_ms: t - 1000,
    detected_at_ms: t - 1000,
    evidence: { kind: 'events', event_ids: [] },
    tags: [],
  };
}

const onTopic = (id: string) => watch.records.filter((r) => r.id === id);

test('one publisher of two publishes; created and acknowledged events reach the topic once each, in order', async () => {
  const a = publisher();
  const b = publisher();
  await waitFor('a leader', () => a.publisher.isLeader() || b.publisher.isLeader());
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(Number(a.publisher.isLeader()) + Number(b.publisher.isLeader()), 1);

  const d = detection();
  await withTransaction(h.pool, (db) => insertDetectedAlerts(db, [d]));
  await acknowledgeAlert(h.pool, h.organizationId, d.id, 'alice');
  await waitFor('both events on the topic', () => onTopic(d.id).length >= 2);
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(onTopic(d.id).map((r) => [r.event_type, r.status, r.actor]), [['alert.created', 'open', null], ['alert.updated', 'acknowledged', 'alice']]);

  // The leader stops (its session ends): the other takes over.
  const [leader, standby] = a.publisher.isLeader() ? [a, b] : [b, a];
  await leader.publisher.stop();
  await waitFor('the standby taking over', () => standby.publisher.isLeader(), 10_000);
  const e = detection();
  await withTransaction(h.pool, (db) => insertDetectedAlerts(db, [e]));
  await waitFor('the next alert on the topic', () => onTopic(e.id).length === 1);
});

test('an event acknowledged by Kafka but never marked published is found on the topic, not sent again', async () => {
  const p = publishers.find((x) => x.isLeader());
  assert.ok(p, 'a publisher leads');
  const d = detection();
  await withTransaction(h.pool, (db) => insertDetectedAlerts(db, [d]));
  await waitFor('the alert on the topic', () => onTopic(d.id).length === 1);
  await p.stop();
  // As if the publisher had died between Kafka's acknowledgement and marking the row.
  await h.pool.query(`update alert_events set published_at = null, attempted_at = now() where alert_id = $1`, [d.id]);
  // As if another had died after marking the attempt but before sending.
  const lost = detection();
  await withTransaction(h.pool, (db) => insertDetectedAlerts(db, [lost]));
  await h.pool.query(`update alert_events set attempted_at = now() where alert_id = $1`, [lost.id]);

  const next = publisher();
  await waitFor('the lost event sent', () => onTopic(lost.id).length === 1, 60_000);
  await waitFor('nothing pending', async () => (await h.pool.query('select 1 from alert_events where published_at is null')).rowCount === 0);
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(onTopic(d.id).length, 1, 'the acknowledged event is on the topic once');
  assert.equal(onTopic(lost.id).length, 1);
  assert.equal(await metricValue(next.registry, 'vigil_rules_alert_events_checked_total', { outcome: 'found' }), 1);
  assert.equal(await metricValue(next.registry, 'vigil_rules_alert_events_checked_total', { outcome: 'missing' }), 1);
});
