import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getMessage, listAttempts, listMessages } from '@vigil/db';
import type { RunningDelivery } from '../delivery';
import { counterValue, createHarness, sampleAlert, type Harness } from '../testing/harness';
import { startReceiver, type Receiver } from '../testing/receiver';

let h: Harness;
let delivery: RunningDelivery;
let internal: Receiver;
let allowed: Receiver;

before(async () => {
  h = await createHarness();
  // A receiver on 127.0.0.1 that must never be reached, and an allow-listed one on 127.0.0.2 that
  // redirects to it.
  internal = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
  allowed = await startReceiver({ secrets: () => [], host: '127.0.0.2', reply: () => ({ status: 307, headers: { location: `${internal.url}?via=redirect` } }) });
  delivery = await h.start({ VIGIL_WEBHOOK_ALLOW_CIDRS: '127.0.0.2/32' });
});
after(async () => {
  await h.close();
  await internal.close();
  await allowed.close();
});

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('deliveries to private, link-local, metadata, loopback and names resolving to loopback are refused and recorded', async () => {
  const port = internal.port;
  const cases = [
    { url: 'http://10.0.0.1/hook', reason: /private/ },
    { url: 'http://10.255.255.254:8080/hook', reason: /private/ },
    { url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/', reason: /cloud metadata/ },
    { url: `http://[::1]:${port}/hook`, reason: /loopback/ },
    { url: `http://localhost:${port}/hook`, reason: /localhost resolves to .* loopback/ },
    { url: `http://0x7f.1:${port}/hook`, reason: /loopback/ },
    { url: `http://[::ffff:127.0.0.1]:${port}/hook`, reason: /127\.0\.0\.1|loopback|ipv4 mapped/ },
  ];
  const hooks = [];
  for (const c of cases) hooks.push({ ...c, hook: await h.endpoint(c.url) });
  await h.publish([sampleAlert(h.projectId)]);

  for (const { hook, url, reason } of hooks) {
    await waitUntil(async () => (await listMessages(h.pool, h.organizationId, hook.id))[0]?.status === 'failed', `the message to ${url} to fail`);
    const [message] = await listMessages(h.pool, h.organizationId, hook.id);
    assert.equal(message?.failure_reason, 'destination_refused', url);
    assert.equal(message?.attempts, 1, `${url}: refused once, never retried`);
    const [attempt] = await listAttempts(h.pool, h.organizationId, { messageId: message!.id });
    assert.equal(attempt?.error_class, 'ssrf_refused', url);
    assert.equal(attempt?.status_code, null);
    assert.equal(attempt?.remote_address, null, `${url}: no connection was made`);
    assert.match(attempt?.error ?? '', reason, `${url}: ${attempt?.error}`);
  }
  assert.equal(internal.requests.length, 0, 'nothing reached the internal receiver');
  assert.equal(await counterValue(delivery.metrics, 'vigil_delivery_attempts_total', { error_class: 'ssrf_refused' }), cases.length);
});

test('a redirect from an allowed endpoint to an internal address is not followed, and is recorded', async () => {
  const hook = await h.endpoint(allowed.url);
  await h.publish([sampleAlert(h.projectId)]);
  await allowed.waitFor(() => allowed.requests.length >= 1, 30_000, 'the allowed endpoint');
  const id = allowed.requests[0]!.id;
  await waitUntil(async () => (await getMessage(h.pool, h.organizationId, id))?.status === 'failed', 'the message to fail');
  const attempts = await listAttempts(h.pool, h.organizationId, { messageId: id });
  assert.equal(attempts.length, 4);
  for (const a of attempts) {
    assert.equal(a.status_code, 307);
    assert.equal(a.error_class, 'http_redirect');
    assert.equal(a.remote_address, '127.0.0.2');
    assert.equal(a.response_headers.location, `${internal.url}?via=redirect`);
  }
  assert.equal(internal.requests.length, 0, 'the internal address was never requested');
  assert.equal(hook.url, allowed.url);
});
