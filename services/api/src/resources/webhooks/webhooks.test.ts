import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '@vigil/config';
import { createProject } from '@vigil/db';
import { silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import { verifyWebhook } from '@vigil/webhook-signing';
import { deliveryConfigShape, startDelivery, type RunningDelivery } from '../../../../delivery/src/index';
import { ApiHarness, assertError, assertOk } from '../../testing/api-harness';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let h: ApiHarness;
let delivery: RunningDelivery;
let receiver: Server;
let hookUrl: string;
const received: Received[] = [];

before(async () => {
  const queuePrefix = uniquePrefix('apiq').replace(/\.$/, '');
  h = await ApiHarness.start({ VIGIL_DELIVERY_QUEUE_PREFIX: queuePrefix });
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const env = testEnv();
  delivery = await startDelivery(
    loadConfig(deliveryConfigShape, {
      KAFKA_BROKERS: env.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: h.databaseUrl,
      REDIS_URL: env.redisUrl,
      VIGIL_TOPIC_PREFIX: uniquePrefix('apiw'),
      VIGIL_DELIVERY_QUEUE_PREFIX: queuePrefix,
      VIGIL_DELIVERY_ADMIN_ADDR: '127.0.0.1:0',
      VIGIL_WEBHOOK_ALLOW_CIDRS: '127.0.0.1/32',
    }),
    silentLogger(),
  );
});
after(async () => {
  await delivery?.stop();
  receiver?.close();
  await h.stop();
});

async function arrival(messageId: string, count = 1): Promise<Received[]> {
  for (let i = 0; i < 600; i++) {
    const got = received.filter((r) => r.headers['webhook-id'] === messageId);
    if (got.length >= count) return got;
    await sleep(50);
  }
  throw new Error(`message ${messageId} did not arrive ${count} time(s)`);
}

async function settled(path: string, token: string, check: (body: any) => boolean) {
  for (let i = 0; i < 200; i++) {
    const res = await h.get(path, { token });
    if (res.status === 200 && check(res.body.data)) return res.body.data;
    await sleep(50);
  }
  throw new Error(`${path} did not reach the expected state`);
}

test('CRUD: the secret only on create, rotate and the secret endpoint; validation', async () => {
  const { token, org } = await h.tenant();
  const { project } = await createProject(h.pool, org.id, 'web');
  const created = await h.post('/v1/webhooks', { url: 'https://hooks.example.com/vigil', project_ids: [project.id], event_types: ['alert.created'], min_severity: 'high', headers: { 'X-Team': 'secops' } }, { token });
  assertOk(created, 201);
  const w = created.body.data;
  assert.match(w.secret, /^whsec_/);
  assert.deepEqual([w.project_ids, w.event_types, w.min_severity, w.headers, w.status], [[project.id], ['alert.created'], 'high', { 'X-Team': 'secops' }, 'enabled']);
  const got = await h.get(`/v1/webhooks/${w.id}`, { token });
  assert.equal(got.body.data.secret, undefined);
  const list = await h.get('/v1/webhooks', { token });
  assert.equal(list.body.pagination.total, 1);
  assert.ok(!list.text.includes(w.secret));
  assert.equal((await h.get(`/v1/webhooks/${w.id}/secret`, { token })).body.data.secret, w.secret);

  const patched = await h.patch(`/v1/webhooks/${w.id}`, { description: 'pager', project_ids: null, status: 'disabled' }, { token });
  assertOk(patched);
  assert.deepEqual([patched.body.data.description, patched.body.data.project_ids, patched.body.data.status, patched.body.data.disabled_reason], ['pager', null, 'disabled', 'manual']);
  assert.equal((await h.get('/v1/webhooks?status=disabled', { token })).body.pagination.total, 1);
  const enabled = await h.patch(`/v1/webhooks/${w.id}`, { status: 'enabled' }, { token });
  assert.equal(enabled.body.data.status, 'enabled');

  for (const body of [
    { url: 'ftp://example.com' },
    { url: 'https://user:pw@example.com/' },
    { url: 'https://example.com', headers: { 'webhook-signature': 'x' } },
    { url: 'https://example.com', headers: { 'X-Bad': 'a\r\nb' } },
    { url: 'https://example.com', event_types: ['webhook.test'] },
  ]) {
    assertError(await h.post('/v1/webhooks', body, { token }), 400, 'validation_error');
  }
  const other = await h.tenant();
  const foreign = (await createProject(h.pool, other.org.id, 'theirs')).project;
  assertError(await h.post('/v1/webhooks', { url: 'https://example.com', project_ids: [foreign.id] }, { token }), 404, 'not_found');
  assert.equal((await h.delete(`/v1/webhooks/${w.id}`, { token })).status, 204);
  assertError(await h.get(`/v1/webhooks/${w.id}`, { token }), 404, 'not_found');
});

test('send test: delivered signed to the receiver, logged; redeliver sends it again with the same webhook-id', async () => {
  const { token } = await h.tenant();
  const w = (await h.post('/v1/webhooks', { url: hookUrl }, { token })).body.data;
  const sent = await h.post(`/v1/webhooks/${w.id}/test`, undefined, { token });
  assertOk(sent, 202);
  const messageId = sent.body.data.message_id;
  const [first] = await arrival(messageId);
  const verified = verifyWebhook({ headers: first!.headers as Record<string, string>, body: first!.body, secrets: [w.secret] });
  assert.equal(verified.ok, true);
  assert.equal(JSON.parse(first!.body).type, 'webhook.test');

  const delivered = await settled(`/v1/webhooks/${w.id}/deliveries/${messageId}`, token, (d) => d.status === 'delivered');
  assert.equal(delivered.event_type, 'webhook.test');
  assert.equal(delivered.attempt_log.length, 1);
  assert.equal(delivered.attempt_log[0].status_code, 200);
  assert.equal(delivered.payload.type, 'webhook.test');
  const list = await h.get(`/v1/webhooks/${w.id}/deliveries?status=delivered`, { token });
  assert.deepEqual(list.body.data.map((d: { id: string }) => d.id), [messageId]);

  const again = await h.post(`/v1/webhooks/${w.id}/deliveries/${messageId}/redeliver`, undefined, { token });
  assertOk(again, 202);
  assert.equal(again.body.data.result, 'requeued');
  await arrival(messageId, 2);
  const redelivered = await settled(`/v1/webhooks/${w.id}/deliveries/${messageId}`, token, (d) => d.attempt_log.length === 2 && d.status === 'delivered');
  assert.deepEqual(redelivered.attempt_log.map((a: { attempt: number; trigger: string }) => [a.attempt, a.trigger]), [
    [2, 'manual'],
    [1, 'manual'],
  ]);
  assert.equal(redelivered.redeliveries, 1);
  const attempts = await h.get(`/v1/webhooks/${w.id}/attempts?limit=1`, { token });
  assertOk(attempts);
  assert.equal(attempts.body.data.length, 1);
  const rest = await h.get(`/v1/webhooks/${w.id}/attempts?limit=1&after=${attempts.body.pagination.next_cursor}`, { token });
  assert.equal(rest.body.data.length, 1);
  assert.equal(rest.body.pagination.has_more, false);
});

test('rotate secret: both secrets sign during the grace period; disabled endpoints refuse tests', async () => {
  const { token } = await h.tenant();
  const w = (await h.post('/v1/webhooks', { url: hookUrl }, { token })).body.data;
  const rotated = await h.post(`/v1/webhooks/${w.id}/rotate-secret`, { grace_period_seconds: 3600 }, { token });
  assertOk(rotated);
  assert.notEqual(rotated.body.data.secret, w.secret);
  assert.ok(rotated.body.data.previous_secret_expires_at);
  const sent = await h.post(`/v1/webhooks/${w.id}/test`, undefined, { token });
  const [req] = await arrival(sent.body.data.message_id);
  for (const secret of [w.secret, rotated.body.data.secret]) {
    assert.equal(verifyWebhook({ headers: req!.headers as Record<string, string>, body: req!.body, secrets: [secret] }).ok, true);
  }
  const immediate = await h.post(`/v1/webhooks/${w.id}/rotate-secret`, { grace_period_seconds: 0 }, { token });
  assert.equal(immediate.body.data.previous_secret_expires_at, null);
  await h.patch(`/v1/webhooks/${w.id}`, { status: 'disabled' }, { token });
  assertError(await h.post(`/v1/webhooks/${w.id}/test`, undefined, { token }), 409, 'conflict');
});

test('another organization: 404 for the endpoint, its secret, deliveries, attempts, test and redelivery', async () => {
  const a = await h.tenant();
  const b = await h.tenant();
  const w = (await h.post('/v1/webhooks', { url: hookUrl }, { token: a.token })).body.data;
  const messageId = (await h.post(`/v1/webhooks/${w.id}/test`, undefined, { token: a.token })).body.data.message_id;
  for (const [method, path] of [
    ['GET', `/v1/webhooks/${w.id}`],
    ['PATCH', `/v1/webhooks/${w.id}`],
    ['DELETE', `/v1/webhooks/${w.id}`],
    ['GET', `/v1/webhooks/${w.id}/secret`],
    ['POST', `/v1/webhooks/${w.id}/rotate-secret`],
    ['POST', `/v1/webhooks/${w.id}/test`],
    ['GET', `/v1/webhooks/${w.id}/deliveries`],
    ['GET', `/v1/webhooks/${w.id}/deliveries/${messageId}`],
    ['POST', `/v1/webhooks/${w.id}/deliveries/${messageId}/redeliver`],
    ['GET', `/v1/webhooks/${w.id}/attempts`],
  ] as const) {
    assertError(await h.request(method, path, { token: b.token, body: method === 'PATCH' ? { description: 'x' } : undefined }), 404, 'not_found');
  }
  assertOk(await h.get(`/v1/webhooks/${w.id}`, { token: a.token }));
});
