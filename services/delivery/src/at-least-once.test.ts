import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Webhook } from '@vigil/db';
import { spawnDelivery, type DeliveryProcess } from './testing/delivery-process';
import { createHarness, sampleAlert, type Harness } from './testing/harness';
import { startReceiver, type Receiver } from './testing/receiver';

/**
 * At-least-once across a crash: the delivery process is killed with SIGKILL in the middle of a burst
 * of 1,000 alerts (requests in flight, jobs active, alerts possibly not yet fanned out), started
 * again, and every alert must reach the receiver — which deduplicates by webhook-id, as receivers
 * are told to — exactly 1,000 distinct times, every request verified.
 */
const ALERTS = 1000;
let h: Harness;
let receiver: Receiver;
let hook: Webhook;
const processes: DeliveryProcess[] = [];

before(async () => {
  h = await createHarness();
  receiver = await startReceiver({ secrets: () => [hook.secret], reply: () => ({ hangMs: 15, status: 200 }) });
  hook = await h.endpoint(receiver.url);
});
after(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await h.close();
  await receiver.close();
});

test('kill -9 during a burst of 1,000 alerts: after a restart every alert is delivered, exactly 1,000 distinct webhook-ids', async () => {
  // Claims on jobs lapse 2 s after their worker dies, so the restart picks them up soon.
  const env = h.env({ VIGIL_DELIVERY_LOCK_DURATION: '2s' });
  const first = spawnDelivery(env);
  processes.push(first);
  await first.started;

  await h.publish(Array.from({ length: ALERTS }, () => sampleAlert(h.projectId)));
  await receiver.waitFor(() => receiver.ids().size >= 150, 120_000, '150 deliveries before the kill');
  first.child.kill('SIGKILL');
  const killed = await first.exited;
  assert.equal(killed.signal, 'SIGKILL');
  const atKill = receiver.ids().size;
  assert.ok(atKill < ALERTS, `the kill came mid-burst (${atKill} of ${ALERTS} delivered)`);

  const second = spawnDelivery(env);
  processes.push(second);
  await second.started;
  await receiver.waitFor(() => receiver.ids().size >= ALERTS, 240_000, 'every alert after the restart');
  // Give duplicates and strays a moment to show up before counting.
  await new Promise((resolve) => setTimeout(resolve, 2000));

  const ids = receiver.ids();
  assert.equal(ids.size, ALERTS, 'deduplicated by webhook-id: exactly one per alert');
  assert.ok(receiver.requests.every((r) => r.verified), 'every request verified with standardwebhooks and svix');
  const alertIds = new Set(receiver.requests.map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id));
  assert.equal(alertIds.size, ALERTS, 'and one per alert id');
  const { rows } = await h.pool.query<{ status: string; n: number }>('select status, count(*)::int as n from webhook_messages group by status');
  assert.deepEqual(rows, [{ status: 'delivered', n: ALERTS }]);
  console.log(
    `killed after ${atKill} distinct deliveries; after the restart ${ALERTS} distinct, ${receiver.requests.length - ALERTS} repeated requests (same webhook-id)`,
  );

  // Graceful stop: SIGTERM finishes what is in flight and exits 0.
  second.child.kill('SIGTERM');
  assert.deepEqual(await second.exited, { code: 0, signal: null });
});
