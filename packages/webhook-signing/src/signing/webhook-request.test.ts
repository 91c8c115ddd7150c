import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { generateSecret } from './secret';
import { verifyWebhook } from './signature';
import { buildWebhookHeaders, serializePayload, WEBHOOK_EVENT_TYPES, type WebhookPayload } from './webhook-request';

test('the body is {"type","timestamp","data"} with an RFC 3339 UTC timestamp', () => {
  const body = serializePayload('alert.resolved', new Date(Date.UTC(2025, 4, 6, 7, 8, 9, 10)), { id: 'al_9', status: 'resolved' });
  const parsed = JSON.parse(body) as WebhookPayload;
  assert.deepEqual(Object.keys(parsed), ['type', 'timestamp', 'data']);
  assert.deepEqual(parsed, { type: 'alert.resolved', timestamp: '2025-05-06T07:08:09.010Z', data: { id: 'al_9', status: 'resolved' } });
  assert.deepEqual(WEBHOOK_EVENT_TYPES, ['alert.created', 'alert.updated', 'alert.resolved', 'webhook.test']);
  assert.throws(() => serializePayload('alert.deleted' as never, new Date(), {}), TypeError);
});

test('retries carry the same body and webhook-id; only the timestamp and signature are renewed', () => {
  const secret = generateSecret();
  const body = serializePayload('alert.created', new Date('2025-01-01T00:00:00Z'), { id: 'al_1' });
  const first = buildWebhookHeaders({ id: 'msg_1', body, secrets: [secret], userAgent: 'Vigil/0.1.0', signedAt: new Date('2025-01-01T00:00:01Z') });
  const retry = buildWebhookHeaders({ id: 'msg_1', body, secrets: [secret], userAgent: 'Vigil/0.1.0', signedAt: new Date('2025-01-01T00:05:06Z') });
  assert.equal(first['webhook-id'], retry['webhook-id']);
  assert.notEqual(first['webhook-timestamp'], retry['webhook-timestamp']);
  assert.notEqual(first['webhook-signature'], retry['webhook-signature']);
  const now = () => new Date('2025-01-01T00:05:10Z');
  assert.equal(verifyWebhook({ headers: retry, body, secrets: [secret], now }).ok, true);
});

test('custom headers are sent but cannot replace the signature, content-type or user-agent', () => {
  const secret = generateSecret();
  const body = serializePayload('webhook.test', new Date(), {});
  const headers = buildWebhookHeaders({
    id: 'msg_2',
    body,
    secrets: [secret],
    userAgent: 'Vigil/0.1.0',
    customHeaders: {
      Authorization: 'Bearer receiver-token',
      'Webhook-Signature': 'v1,forged',
      'webhook-id': 'msg_other',
      'Content-Type': 'text/plain',
      'User-Agent': 'curl',
      Host: 'internal',
    },
  });
  assert.deepEqual(Object.keys(headers).sort(), ['Authorization', 'content-type', 'user-agent', 'webhook-id', 'webhook-signature', 'webhook-timestamp']);
  assert.equal(headers.Authorization, 'Bearer receiver-token');
  assert.equal(headers['webhook-id'], 'msg_2');
  assert.equal(headers['content-type'], 'application/json');
  assert.equal(headers['user-agent'], 'Vigil/0.1.0');
  assert.deepEqual(new StandardWebhook(secret).verify(body, headers), JSON.parse(body));
});
