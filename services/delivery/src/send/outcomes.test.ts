import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getMessage, getWebhook, listAttempts, rotateWebhookSecret, type Webhook, type WebhookAttempt } from '@vigil/db';
import { generateSecret } from '@vigil/webhook-signing';
import { redeliverMessage } from '../control/redeliver';
import { sendTestMessage } from '../control/send-test';
import type { RunningDelivery } from '../delivery';
import { createHarness, sampleAlert, type Harness } from '../testing/harness';
import { startReceiver, type Receiver, type ReceivedRequest, type Reply } from '../testing/receiver';

let h: Harness;
let delivery: RunningDelivery;
const receivers: Receiver[] = [];

before(async () => {
  h = await createHarness();
  // Compressed: retries after 200, 400 and 800 ms (4 attempts), a 1 s response timeout, endpoints
  // disabled after failing for 5 s.
  delivery = await h.start({ VIGIL_WEBHOOK_TIMEOUT: '1s', VIGIL_WEBHOOK_DISABLE_AFTER: '5s' });
});
after(async () => {
  await h.close();
  for (const r of receivers) await r.close();
});

/** An endpoint with its own receiver, which verifies every request with the endpoint's secrets. */
async function endpointWith(reply: (request: ReceivedRequest) => Reply, secrets?: () => string[]) {
  let hook: Webhook | undefined;
  const receiver = await startReceiver({ secrets: secrets ?? (() => (hook ? [hook.secret] : [])), reply });
  receivers.push(receiver);
  hook = await h.endpoint(receiver.url);
  return { hook, receiver };
}

async function attemptsOf(messageId: string): Promise<WebhookAttempt[]> {
  return (await listAttempts(h.pool, h.organizationId, { messageId })).reverse();
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const finished = (id: string) => async () => ['delivered', 'failed'].includes((await getMessage(h.pool, h.organizationId, id))?.status ?? '');

test('500 then 200: delivered on the retry, with the same webhook-id', async () => {
  const { receiver } = await endpointWith((r) => (r.seen === 0 ? { status: 500, body: 'database down' } : { status: 200 }));
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length === 2, 30_000, 'the retry');
  const [first, second] = receiver.requests;
  assert.equal(first!.id, second!.id);
  assert.ok(first!.verified && second!.verified);
  assert.ok(second!.receivedAt - first!.receivedAt >= 200, 'not before the first scheduled delay');
  await waitUntil(finished(first!.id), 'recorded');
  const message = await getMessage(h.pool, h.organizationId, first!.id);
  assert.equal(message?.status, 'delivered');
  const attempts = await attemptsOf(first!.id);
  assert.deepEqual(attempts.map((a) => [a.attempt, a.status_code, a.error_class]), [[1, 500, 'http_server_error'], [2, 200, null]]);
  assert.equal(attempts[0]!.response_body, 'database down');
});

test('410 disables the endpoint at once', async () => {
  const { hook, receiver } = await endpointWith(() => ({ status: 410 }));
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length === 1, 30_000, 'the attempt');
  await waitUntil(async () => (await getWebhook(h.pool, h.organizationId, hook.id))?.status === 'disabled', 'disabled');
  const state = (await getWebhook(h.pool, h.organizationId, hook.id))!;
  assert.equal(state.disabled_reason, 'endpoint_gone');
  const message = (await getMessage(h.pool, h.organizationId, receiver.requests[0]!.id))!;
  assert.equal(message.status, 'failed');
  assert.equal(message.failure_reason, 'endpoint_gone');
  assert.equal(message.attempts, 1, 'no retry');
  await h.publish([sampleAlert(h.projectId)]);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(receiver.requests.length, 1, 'nothing more is sent');
});

test('429 with Retry-After: 2 — the next attempt comes no sooner than 2 s later', async () => {
  const { receiver } = await endpointWith((r) => (r.seen === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 204 }));
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length === 2, 30_000, 'the retry');
  const [first, second] = receiver.requests;
  const gap = second!.receivedAt - first!.receivedAt;
  assert.ok(gap >= 2000, `retried after ${gap} ms`);
  assert.equal(first!.id, second!.id);
  await waitUntil(finished(first!.id), 'recorded');
  const attempts = await attemptsOf(first!.id);
  assert.equal(attempts[0]!.error_class, 'http_rate_limited');
  assert.equal(attempts[0]!.response_headers['retry-after'], '2');
  assert.equal(attempts[1]!.status_code, 204);
});

test('a redirect is a failure and is never followed, on every attempt until the message fails', async () => {
  const target = await endpointWith(() => ({ status: 204 }));
  const { receiver } = await endpointWith(() => ({ status: 302, headers: { location: `${target.receiver.url}?followed=1` } }));
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length > 0, 30_000, 'the first attempt');
  const id = receiver.requests[0]!.id;
  await waitUntil(finished(id), 'the message to fail');
  const message = (await getMessage(h.pool, h.organizationId, id))!;
  assert.equal(message.status, 'failed');
  assert.equal(message.failure_reason, 'attempts_exhausted');
  const attempts = await attemptsOf(id);
  assert.equal(attempts.length, 4, 'the first attempt and three retries');
  for (const a of attempts) {
    assert.equal(a.status_code, 302);
    assert.equal(a.error_class, 'http_redirect');
    assert.equal(a.response_headers.location, `${target.receiver.url}?followed=1`);
  }
  assert.equal(receiver.requests.length, 4);
  assert.ok(!target.receiver.requests.some((r) => r.path.includes('followed')), 'the redirect target was never requested');
});

test('a timeout is retried', async () => {
  const { receiver } = await endpointWith((r) => (r.seen === 0 ? { hangMs: 5000 } : { status: 204 }));
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length === 2, 30_000, 'the retry');
  const id = receiver.requests[0]!.id;
  assert.equal(receiver.requests[1]!.id, id);
  await waitUntil(finished(id), 'recorded');
  const attempts = await attemptsOf(id);
  assert.deepEqual(attempts.map((a) => [a.status_code, a.error_class]), [[null, 'total_timeout'], [204, null]]);
  assert.ok(attempts[0]!.duration_ms >= 1000 && attempts[0]!.duration_ms < 4000, `timed out after ${attempts[0]!.duration_ms} ms`);
});

test('during a secret rotation both secrets verify every delivery, with both libraries; afterwards only the new one', async () => {
  let old = '';
  let next = '';
  const { hook, receiver } = await endpointWith(() => ({ status: 204 }), () => [old, next].filter(Boolean));
  old = hook.secret;
  next = generateSecret();
  await rotateWebhookSecret(h.pool, h.organizationId, hook.id, next);
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length === 1, 30_000, 'the delivery');
  const during = receiver.requests[0]!;
  assert.equal(String(during.headers['webhook-signature']).split(' ').length, 2);
  assert.deepEqual(during.verification, [
    { standardwebhooks: true, svix: true },
    { standardwebhooks: true, svix: true },
  ]);

  const newest = generateSecret();
  await rotateWebhookSecret(h.pool, h.organizationId, hook.id, newest, 0);
  old = next;
  next = newest;
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length === 2, 30_000, 'the delivery after the grace period');
  const afterGrace = receiver.requests[1]!;
  assert.equal(String(afterGrace.headers['webhook-signature']).split(' ').length, 1);
  assert.deepEqual(afterGrace.verification, [
    { standardwebhooks: false, svix: false },
    { standardwebhooks: true, svix: true },
  ]);
});

test('send test and manual redelivery go through the same signed, logged path', async () => {
  const { hook, receiver } = await endpointWith(() => ({ status: 204 }));
  const sent = await sendTestMessage(h.pool, delivery.queue, h.organizationId, hook.id);
  assert.equal(sent.kind, 'sent');
  const id = sent.kind === 'sent' ? sent.messageId : '';
  await receiver.waitFor(() => receiver.requests.length === 1, 30_000, 'the test message');
  assert.ok(receiver.requests[0]!.verified);
  assert.equal((JSON.parse(receiver.requests[0]!.body) as { type: string }).type, 'webhook.test');
  await waitUntil(finished(id), 'recorded');

  assert.equal(await redeliverMessage(h.pool, delivery.queue, h.organizationId, id), 'requeued');
  await receiver.waitFor(() => receiver.requests.length === 2, 30_000, 'the redelivery');
  assert.equal(receiver.requests[1]!.id, id, 'same webhook-id');
  await waitUntil(async () => (await attemptsOf(id)).length === 2, 'the second attempt');
  assert.deepEqual((await attemptsOf(id)).map((a) => [a.attempt, a.trigger]), [[1, 'manual'], [2, 'manual']]);
  assert.equal(await redeliverMessage(h.pool, delivery.queue, h.organizationId + 1000, id), 'not_found');
  assert.deepEqual(await sendTestMessage(h.pool, delivery.queue, h.organizationId + 1000, hook.id), { kind: 'not_found' });
});

test('a failed message can be redelivered by hand once the endpoint works', async () => {
  let healthy = false;
  const { receiver } = await endpointWith(() => (healthy ? { status: 204 } : { status: 400 }));
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length >= 1, 30_000, 'first attempt');
  const id = receiver.requests[0]!.id;
  await waitUntil(finished(id), 'the message to fail');
  assert.equal((await getMessage(h.pool, h.organizationId, id))?.failure_reason, 'attempts_exhausted');
  healthy = true;
  assert.equal(await redeliverMessage(h.pool, delivery.queue, h.organizationId, id), 'requeued');
  await waitUntil(async () => (await getMessage(h.pool, h.organizationId, id))?.status === 'delivered', 'delivered');
  const attempts = await attemptsOf(id);
  assert.deepEqual(attempts.map((a) => [a.attempt, a.status_code, a.trigger]), [
    [1, 400, 'scheduled'],
    [2, 400, 'scheduled'],
    [3, 400, 'scheduled'],
    [4, 400, 'scheduled'],
    [5, 204, 'manual'],
  ]);
  assert.equal(new Set(receiver.requests.map((r) => r.id)).size, 1);
});

test('a message whose attempts ran out gets one attempt per redelivery, numbered on, and fails again if that one fails', async () => {
  let failing = '';
  const { receiver } = await endpointWith((r) => (failing === '' || r.id === failing ? { status: 400 } : { status: 204 }));
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length >= 1, 30_000, 'first attempt');
  const id = receiver.requests[0]!.id;
  failing = id;
  await waitUntil(finished(id), 'the message to fail');
  assert.equal((await getMessage(h.pool, h.organizationId, id))?.failure_reason, 'attempts_exhausted');
  // Another alert delivered to the endpoint ends its failure run, so the endpoint stays enabled
  // however long this takes.
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.some((r) => r.id !== id), 30_000, 'a delivery of another alert');

  assert.equal(await redeliverMessage(h.pool, delivery.queue, h.organizationId, id), 'requeued');
  await receiver.waitFor(() => receiver.requests.filter((r) => r.id === id).length === 5, 30_000, 'the redelivered attempt');
  await waitUntil(async () => (await getMessage(h.pool, h.organizationId, id))?.status === 'failed', 'the message to fail again');
  const message = (await getMessage(h.pool, h.organizationId, id))!;
  assert.equal(message.failure_reason, 'attempts_exhausted');
  assert.equal(message.attempts, 5);
  assert.equal(message.redeliveries, 1);
  // Longer than the whole compressed schedule (200 + 400 + 800 ms): no retry follows.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.equal(receiver.requests.filter((r) => r.id === id).length, 5, 'one attempt for the redelivery, no retries after it');
  assert.deepEqual((await attemptsOf(id)).map((a) => [a.attempt, a.status_code, a.trigger]), [
    [1, 400, 'scheduled'],
    [2, 400, 'scheduled'],
    [3, 400, 'scheduled'],
    [4, 400, 'scheduled'],
    [5, 400, 'manual'],
  ]);
});

test('an endpoint failing continuously for the configured period is disabled', async () => {
  const { hook, receiver } = await endpointWith(() => ({ status: 503 }));
  const started = Date.now();
  while ((await getWebhook(h.pool, h.organizationId, hook.id))?.status === 'enabled') {
    if (Date.now() - started > 30_000) assert.fail('not disabled within 30 s');
    await h.publish([sampleAlert(h.projectId)]);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const state = (await getWebhook(h.pool, h.organizationId, hook.id))!;
  assert.equal(state.disabled_reason, 'failing');
  const firstAttempt = receiver.requests[0]!.receivedAt;
  assert.ok(state.disabled_at!.getTime() - firstAttempt >= 5000 - 50, 'not before the period');
  assert.ok(state.failure_count >= 2);
});

test('stopping finishes the requests in flight and records them', async () => {
  const { receiver } = await endpointWith(() => ({ hangMs: 700, status: 200 }));
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length === 1, 30_000, 'the request');
  await delivery.stop();
  const message = (await getMessage(h.pool, h.organizationId, receiver.requests[0]!.id))!;
  assert.equal(message.status, 'delivered', 'the answer that came during shutdown was recorded');
  assert.equal(message.attempts, 1);
});
