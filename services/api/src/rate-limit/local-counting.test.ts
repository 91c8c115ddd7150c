import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { testEnv, uniquePrefix } from '@vigil/testkit';
import { Redis } from 'ioredis';
import { headroom, SlidingWindowLimiter, WINDOW_MS } from './sliding-window';

/** Two API instances' limiters on one real Redis and key prefix; Redis round trips of the request path counted. */
const redis = new Redis(testEnv().redisUrl, { maxRetriesPerRequest: 1 });
const other = new Redis(testEnv().redisUrl, { maxRetriesPerRequest: 1 });
const prefix = `${uniquePrefix('rl').replace(/\.$/, '')}:`;
const limiters: SlidingWindowLimiter[] = [];

after(async () => {
  for (const l of limiters) await l.close();
  redis.disconnect();
  other.disconnect();
});

async function instance(connection: Redis): Promise<{ limiter: SlidingWindowLimiter; roundTrips: () => number }> {
  const limiter = new SlidingWindowLimiter(connection, prefix);
  limiters.push(limiter);
  limiter.listen();
  for (let i = 0; i < 100 && !limiter.local; i++) await sleep(20);
  assert.ok(limiter.local, 'subscribed to revocations');
  let calls = 0;
  const script = connection.vigilSlidingWindow.bind(connection);
  connection.vigilSlidingWindow = (...args) => (calls++, script(...args));
  return { limiter, roundTrips: () => calls };
}

/** Far from the window's end, so a test's requests fall in one window. */
async function midWindow(): Promise<void> {
  const elapsed = Date.now() % WINDOW_MS;
  if (elapsed > WINDOW_MS - 5_000) await sleep(WINDOW_MS - elapsed + 100);
}

async function counted(subject: string): Promise<number> {
  const keys = await redis.keys(`${prefix}rl:{${subject}}:*`);
  let total = 0;
  for (const key of keys) total += Number(await redis.get(key));
  return total;
}

test('far from the limit, requests are counted locally and the counts reach Redis in the background', async () => {
  await midWindow();
  const a = await instance(redis);
  const subject = `token:local-${Math.random()}`;
  const remaining: number[] = [];
  for (let i = 0; i < 50; i++) {
    const d = await a.limiter.take(subject, 1000);
    assert.ok(d.allowed);
    remaining.push(d.remaining);
  }
  assert.equal(a.roundTrips(), 1, 'only the first request, unknown here, asked Redis');
  assert.deepEqual(remaining, Array.from({ length: 50 }, (_, i) => 999 - i));
  await sleep(100);
  assert.equal(await counted(subject), 50);
});

test('near the limit Redis decides, so the limit holds across instances', async () => {
  await midWindow();
  const a = await instance(redis);
  const b = await instance(other);
  const subject = `token:shared-${Math.random()}`;
  const limit = 130;
  let allowed = 0;
  let refusedAt = -1;
  for (let i = 0; i < limit + 10 && refusedAt < 0; i++) {
    const d = await (i % 2 === 0 ? a : b).limiter.take(subject, limit);
    if (d.allowed) allowed++;
    else refusedAt = i;
    // Another instance's counts arrive within the sync interval (20 ms).
    await sleep(25);
  }
  assert.equal(allowed, limit);
  assert.equal(refusedAt, limit);
  assert.ok(a.roundTrips() + b.roundTrips() < limit, 'the first requests were counted locally');
  assert.ok(headroom(limit) >= 100);
  const refused = await b.limiter.take(subject, limit);
  assert.equal(refused.allowed, false);
  assert.ok(refused.retryAfter >= 1);
  assert.equal(await counted(subject), limit);
});

test('a revocation published by one instance sends the token of another back to Redis, which refuses it', async () => {
  await midWindow();
  const a = await instance(redis);
  const b = await instance(other);
  const tokenId = `revoked-${Math.random()}`;
  const subject = `token:${tokenId}`;
  assert.ok((await a.limiter.take(subject, 1000, tokenId)).allowed);
  assert.ok((await a.limiter.take(subject, 1000, tokenId)).allowed);
  assert.equal(a.roundTrips(), 1);
  await b.limiter.markRevoked(tokenId, 10_000);
  await sleep(50);
  const d = await a.limiter.take(subject, 1000, tokenId);
  assert.equal(d.revoked, true);
  assert.equal(a.roundTrips(), 2);
});

test('while the revocation channel is lost every request goes to Redis, and counts from before it came back are not trusted', async () => {
  await midWindow();
  const name = `rl-lost-${Math.random().toString(36).slice(2)}`;
  const connection = new Redis(testEnv().redisUrl, { maxRetriesPerRequest: 1, connectionName: name });
  try {
    const a = await instance(connection);
    const tokenId = `lost-${Math.random()}`;
    const subject = `token:${tokenId}`;
    assert.ok((await a.limiter.take(subject, 1000, tokenId)).allowed);
    assert.ok((await a.limiter.take(subject, 1000, tokenId)).allowed);
    assert.equal(a.roundTrips(), 1, 'counted locally while subscribed');

    // Drop the subscriber's connection (the duplicate of `connection` that subscribed: same name).
    const clients = String(await redis.call('client', 'list'))
      .split('\n')
      .filter((line) => line.includes(` name=${name} `) && / sub=[1-9]/.test(line));
    assert.equal(clients.length, 1, 'one subscriber connection');
    await redis.call('client', 'kill', 'id', /id=(\d+)/.exec(clients[0]!)![1]!);
    for (let i = 0; i < 100 && a.limiter.local; i++) await sleep(5);
    assert.equal(a.limiter.local, false, 'the loss is noticed');
    const before = a.roundTrips();
    assert.ok((await a.limiter.take(subject, 1000, tokenId)).allowed);
    assert.equal(a.roundTrips(), before + 1, 'without the channel, Redis decides');

    // A revocation whose announcement this instance cannot have heard: only the marker in Redis.
    await redis.set(`${prefix}revoked:${tokenId}`, '1', 'PX', 10_000);
    for (let i = 0; i < 200 && !a.limiter.local; i++) await sleep(20);
    assert.ok(a.limiter.local, 'subscribed again');
    const d = await a.limiter.take(subject, 1000, tokenId);
    assert.equal(a.roundTrips(), before + 2, 'counts read before the channel came back go to Redis once more');
    assert.equal(d.revoked, true, 'so the revocation missed meanwhile is seen');
  } finally {
    connection.disconnect();
  }
});
