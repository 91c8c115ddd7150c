/**
 * The detection stage reads what is on the re-partition topic, whichever format wrote it: messages
 * of the earlier one-record-per-message format (the record's bytes as the value, routing in four
 * headers) left on the topic by a previous version are applied like packed entries, a packed
 * message whose entries were already applied is skipped entry by entry, and bytes that are neither
 * are dropped and counted, never crash the worker.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listAlerts } from '@vigil/db';
import { createHarness, metricValue, securityEvent, waitFor, type Harness } from './testing/harness';
import { PackWriter, partitionFor, repartitionKey, routedHeaders } from './route/repartition-message';

let h: Harness;
const PARTITIONS = 8;

before(async () => {
  h = await createHarness('rfmt');
  await h.rule({
    id: 'root-login',
    name: 'Root login',
    project_id: h.projectId,
    source: 'events',
    severity: 'high',
    match: { field: 'user.username', eq: 'root' },
    suppress: '0s',
  });
});
after(() => h.close());

test('earlier-format messages are applied, repeats are skipped, and garbage is dropped and counted', async () => {
  const topic = `${h.topicPrefix}compat.repartition`;
  const worker = await h.start({ VIGIL_RULES_REPARTITION_TOPIC: topic, VIGIL_RULES_PARTITIONS: String(PARTITIONS) });
  const producer = h.kafka.producer();
  await producer.connect();
  try {
    const key = repartitionKey(h.projectId, '[]');
    const partition = partitionFor(key, PARTITIONS);
    const events = [0, 1].map((i) => securityEvent(h.projectId, { timestamp_ms: Date.now() - 60_000 + i }));
    const values = await Promise.all(events.map((e) => h.codecs.events.encode(e)));
    // Two records as an earlier version routed them (input offsets 10 and 11 of events partition 3).
    await producer.send({
      topic,
      messages: values.map((value, i) => ({ key, partition, value, headers: routedHeaders('events', h.organizationId, ['root-login'], 3, String(10 + i), 0) })),
    });
    // Packed: the record at offset 11 again (a repeat) and a new one at offset 12.
    const third = securityEvent(h.projectId, { timestamp_ms: Date.now() - 30_000 });
    const pack = new PackWriter();
    pack.add({ source: 'events', organizationId: h.organizationId, ruleIds: ['root-login'], inputPartition: 3, offset: 11, index: 0, record: values[1]! });
    pack.add({ source: 'events', organizationId: h.organizationId, ruleIds: ['root-login'], inputPartition: 3, offset: 12, index: 0, record: await h.codecs.events.encode(third) });
    pack.flush();
    await producer.send({
      topic,
      messages: [
        ...pack.messages.map((value) => ({ partition, value })),
        { partition, value: Buffer.from([0xfe, 1, 0, 0]) }, // a packed message cut short
        { partition, value: Buffer.from('not a routed message') },
      ],
    });

    const m = worker.metrics;
    await waitFor('three records applied', async () => (await metricValue(m, 'vigil_rules_records_applied_total')) >= 3);
    await waitFor('the garbage dropped', async () => (await metricValue(m, 'vigil_rules_records_dropped_total', { reason: 'invalid_message' })) >= 2);
    assert.equal(await metricValue(m, 'vigil_rules_records_applied_total'), 3);
    assert.equal(await metricValue(m, 'vigil_rules_records_dropped_total', { reason: 'repeated_origin' }), 1);
    assert.equal(await metricValue(m, 'vigil_rules_records_dropped_total', { reason: 'invalid_message' }), 2);
    const alerts = await listAlerts(h.pool, { organizationId: h.organizationId });
    assert.deepEqual(alerts.map((a) => (a.evidence as { event_ids: string[] }).event_ids[0]).sort(), [...events, third].map((e) => e.event_id).sort());
    const { rows } = await h.pool.query<{ n: number }>('select coalesce(sum(applied_records), 0)::int as n from rule_tasks where topic = $1', [topic]);
    assert.equal(rows[0]!.n, 3);
  } finally {
    await producer.disconnect();
    await worker.stop();
  }
});
