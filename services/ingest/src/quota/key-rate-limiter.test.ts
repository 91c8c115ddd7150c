import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { serializeEnvelope } from '@vigil/sentry-protocol';
import { freePort, silentLogger, testEnv } from '@vigil/testkit';
import { newKey, startTestIngest, type TestIngest } from '../testing/test-ingest';
import { KeyRateLimiter } from './key-rate-limiter';

const env = testEnv();
let t: TestIngest;
const redisClients: Redis[] = [];

function redis(url = env.redisUrl): Redis {
  const client = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => undefined);
  redisClients.push(client);
  return client;
}

/** Counts are per calendar minute: start a test early in one, so the window cannot roll under it. */
async function freshMinute(): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < 15_000) await sleep(left + 50);
}

before(async () => {
  t = await startTestIngest({ config: { VIGIL_INGEST_RATE_LIMIT_PER_MINUTE: 4 } });
});
after(async () => {
  await t?.stop();
  for (const c of redisClients) c.disconnect();
});

test('two instances share one limit through Redis', async () => {
  await freshMinute();
  const prefix = `rl-${randomBytes(4).toString('hex')}:`;
  const [ra, rb] = [redis(), redis()];
  await Promise.all([ra.connect(), rb.connect()]);
  const a = new KeyRateLimiter({ redis: ra, defaultPerMinute: 100, keyPrefix: prefix, logger: silentLogger() });
  const b = new KeyRateLimiter({ redis: rb, defaultPerMinute: 100, keyPrefix: prefix, logger: silentLogger() });
  const key = { id: 1, rateLimitPerMinute: null };
  for (let i = 0; i < 60; i++) assert.equal(a.take(key, 1), null);
  await a.flush();
  // B has not heard from Redis yet: its first event is accepted and tells it the shared total.
  assert.equal(b.take(key, 1), null);
  await b.flush();
  let accepted = 61;
  while (b.take(key, 1) === null) accepted++;
  assert.equal(accepted, 100);
  const wait = b.take(key, 1);
  assert.ok(wait !== null && wait >= 1 && wait <= 60);
  assert.equal(b.exhausted(key), wait);
  await b.flush();
  assert.equal(Number(await ra.get(`${prefix}1:${Math.floor(Date.now() / 60_000)}`)), 100);
  await Promise.all([a.close(), b.close()]);
});

test('a key over its limit gets 429 with Retry-After and X-Sentry-Rate-Limits', async () => {
  await freshMinute();
  const key = await newKey(t.pool, t.projectId, 2);
  const path = `/api/${t.projectId}/envelope/?sentry_key=${key.publicKey}`;
  const send = async () => {
    const eventId = randomBytes(16).toString('hex');
    const body = serializeEnvelope({ event_id: eventId }, [{ headers: { type: 'event' }, payload: JSON.stringify({ message: 'x' }) }]);
    return fetch(`${t.base}${path}`, { method: 'POST', body });
  };
  assert.equal((await send()).status, 200);
  assert.equal((await send()).status, 200);
  const refused = await send();
  assert.equal(refused.status, 429);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.equal(refused.headers.get('x-sentry-rate-limits'), `${retryAfter}::key:key_quota`);
  const body = (await refused.json()) as Record<string, unknown>;
  assert.equal(body.reason, 'key_rate_limit');
  assert.match(body.detail as string, /^rate limit exceeded for this key; retry in \d+ s$/);
  // Envelopes without events (sessions) are not counted and still go through.
  const sessions = serializeEnvelope({}, [{ headers: { type: 'session' }, payload: '{}' }]);
  const s = await fetch(`${t.base}${path}`, { method: 'POST', body: sessions });
  assert.equal(s.status, 429, 'a key with nothing left is refused before its body is read');
  assert.match(await t.metricsText(), /vigil_ingest_outcomes_total\{outcome="rate_limited",reason="key_rate_limit",category="error",service="ingest"\} 2/);
});

test('the default limit applies to keys without their own, counting native records', async () => {
  await freshMinute();
  const key = await newKey(t.pool, t.projectId);
  const post = (records: number) =>
    fetch(`${t.base}/api/${t.projectId}/events/?sentry_key=${key.publicKey}`, {
      method: 'POST',
      body: JSON.stringify(Array.from({ length: records }, () => ({ class: 'security', severity: 'info', type: 'probe' }))),
    });
  assert.equal((await post(3)).status, 200);
  assert.equal((await post(2)).status, 429, '3 + 2 records exceed the default of 4');
  assert.equal((await post(1)).status, 200);
  assert.equal((await post(1)).status, 429);
});

test('with Redis unreachable the limit still holds per instance', async () => {
  await freshMinute();
  const down = redis(`redis://127.0.0.1:${await freePort()}`);
  let errors = 0;
  const limiter = new KeyRateLimiter({ redis: down, defaultPerMinute: 10, keyPrefix: 'x:', logger: silentLogger(), onSyncError: () => errors++ });
  const key = { id: 9, rateLimitPerMinute: null };
  let accepted = 0;
  for (let i = 0; i < 15; i++) if (limiter.take(key, 1) === null) accepted++;
  assert.equal(accepted, 10);
  await limiter.flush();
  assert.ok(errors >= 1);
  await limiter.close();
});
