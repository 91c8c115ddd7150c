/**
 * A round of input larger than Kafka accepts in one record batch still goes through: a rule without
 * group-by sends every record of its project to one re-partition partition, so a fetch of several
 * megabytes of events becomes several megabytes for one partition, which the routing stage must
 * produce in pieces below the broker's message size limit.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createHarness, metricValue, securityEvent, settle, type Harness } from './testing/harness';

let h: Harness;

before(async () => {
  h = await createHarness('rlr');
  await h.rule({
    id: 'volume',
    name: 'Event volume',
    project_id: h.projectId,
    source: 'events',
    severity: 'info',
    match: { field: 'class', eq: 'security' },
    aggregate: { window: '1h', function: 'count', threshold: 1_000_000 },
  });
});
after(() => h.close());

test('several megabytes routed to one partition in one round are produced and applied', async () => {
  const padding = 'x'.repeat(1500);
  const events = Array.from({ length: 6000 }, (_, i) => securityEvent(h.projectId, { message: `${i} ${padding}`, timestamp_ms: Date.now() - 600_000 + i }));
  for (let i = 0; i < events.length; i += 1000) await h.produceEvents(events.slice(i, i + 1000));
  const worker = await h.start();
  await settle(worker, events.length, 180_000);
  assert.equal(await metricValue(worker.metrics, 'vigil_rules_records_applied_total'), events.length);
  assert.equal(await metricValue(worker.metrics, 'vigil_rules_batch_retries_total', { stage: 'route' }), 0);
  await worker.stop();
});
