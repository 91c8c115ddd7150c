import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { updateWebhook, type Webhook } from '@vigil/db';
import type { RunningDelivery } from '../delivery';
import { counterValue, createHarness, sampleAlert, type Harness } from '../testing/harness';
import { startReceiver, type Receiver, type ReceivedRequest, type Reply } from '../testing/receiver';

/**
 * Per-endpoint flow control through real Redis and PostgreSQL: messages an endpoint cannot take now
 * are parked in PostgreSQL and come back as it has room or recovers — none lost, none sent twice,
 * and the endpoint never sees more than its concurrency.
 */
let h: Harness;
let delivery: RunningDelivery;
const receivers: Receiver[] = [];

before(async () => {
  h = await createHarness();
  delivery = await h.start({
    VIGIL_DELIVERY_CONCURRENCY: '20',
    VIGIL_WEBHOOK_ENDPOINT_CONCURRENCY: '2',
    VIGIL_WEBHOOK_RETRY_SCHEDULE: '200ms,400ms,800ms,1s,1s,1s,1s',
  });
});
after(async () => {
  await h.close();
  for (const r of receivers) await r.close();
});

async function endpointWith(reply: (request: ReceivedRequest) => Reply) {
  let hook: Webhook | undefined;
  const receiver = await startReceiver({ secrets: () => (hook ? [hook.secret] : []), reply });
  receivers.push(receiver);
  hook = await h.endpoint(receiver.url);
  return { hook, receiver };
}

async function statuses(webhookId: string): Promise<Record<string, number>> {
  const { rows } = await h.pool.query<{ status: string; n: number }>(
    'select status, count(*)::int as n from webhook_messages where webhook_id = $1 group by status',
    [webhookId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

test('a backlog beyond an endpoint\'s slots is parked and delivered in full, never more than 2 requests at once', async () => {
  // 150 ms per request: too slow for waiting jobs to get a slot soon, so those beyond the waiting
  // budget are parked (an endpoint answering within a few ms keeps them waiting instead).
  const { hook, receiver } = await endpointWith(() => ({ hangMs: 150, status: 204 }));
  const parkedBefore = await counterValue(delivery.metrics, 'vigil_delivery_parked_total');
  await h.publish(Array.from({ length: 200 }, () => sampleAlert(h.projectId)));
  await receiver.waitFor(() => receiver.ids().size === 200, 120_000, 'all 200 deliveries');
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(receiver.requests.length, 200, 'each message sent once');
  assert.ok(receiver.requests.every((r) => r.verified));
  assert.ok(receiver.maxOpen() <= 2, `at most 2 requests at once, saw ${receiver.maxOpen()}`);
  assert.ok((await counterValue(delivery.metrics, 'vigil_delivery_parked_total')) > parkedBefore, 'the overflow was parked');
  assert.ok((await counterValue(delivery.metrics, 'vigil_delivery_resumed_total')) > 0, 'and brought back');
  const byStatus = await (async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const s = await statuses(hook.id);
      if (s.delivered === 200 || Date.now() > deadline) return s;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  assert.deepEqual(byStatus, { delivered: 200 });
  const { rows } = await h.pool.query('select count(*)::int as n from webhook_messages where parked_at is not null');
  assert.deepEqual(rows, [{ n: 0 }], 'nothing left parked');
});

test('an endpoint that is down for a while gets probes only; its messages wait parked and all arrive once it is back', async () => {
  const downUntil = Date.now() + 2000;
  const { hook, receiver } = await endpointWith(() => (Date.now() < downUntil ? { hangMs: 300, status: 503 } : { status: 204 }));
  await h.publish(Array.from({ length: 40 }, () => sampleAlert(h.projectId)));
  await receiver.waitFor(() => receiver.requests.filter((r) => r.receivedAt >= downUntil).length > 0, 60_000, 'the endpoint back');
  const whileDown = receiver.requests.filter((r) => r.receivedAt < downUntil);
  assert.ok(whileDown.length < 40, `probes only while down (${whileDown.length} requests for 40 messages)`);
  const deadline = Date.now() + 60_000;
  while ((await statuses(hook.id)).delivered !== 40) {
    if (Date.now() > deadline) assert.fail(`not all delivered: ${JSON.stringify(await statuses(hook.id))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(receiver.ids().size, 40);
  const afterwards = receiver.requests.filter((r) => r.receivedAt >= downUntil);
  assert.equal(new Set(afterwards.map((r) => r.id)).size, afterwards.length, 'after recovery each message once');
});

test('a job that waited for a slot reads its message again: a URL changed meanwhile applies to its attempt', async () => {
  const { hook, receiver: before } = await endpointWith(() => ({ hangMs: 600, status: 204 }));
  const moved = await startReceiver({ secrets: () => [hook.secret], reply: () => ({ status: 204 }) });
  receivers.push(moved);
  // Two requests take the endpoint's 2 slots for 600 ms; the third job, read as it was taken,
  // waits for a slot while the URL changes.
  await h.publish(Array.from({ length: 3 }, () => sampleAlert(h.projectId)));
  await before.waitFor(() => before.requests.length === 2, 30_000, 'two requests in flight');
  assert.ok(await updateWebhook(h.pool, h.organizationId, hook.id, { url: moved.url }));
  await moved.waitFor(() => moved.requests.length === 1, 30_000, 'the third message at the new URL');
  assert.ok(moved.requests[0]!.verified);
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.equal(before.requests.length, 2, 'nothing more at the old URL');
});
