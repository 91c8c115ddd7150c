import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { revokeProjectKey } from '@vigil/db';
import { serializeEnvelope } from '@vigil/sentry-protocol';
import { newKey, startTestIngest, type TestIngest } from '../testing/test-ingest';
import { KeyCache, type KeyRecord } from './key-cache';

let t: TestIngest;
before(async () => {
  t = await startTestIngest({ noReader: true });
});
after(() => t?.stop());

test('a revoked key stops working within 5 s, while requests keep arriving', async () => {
  const key = await newKey(t.pool, t.projectId);
  const send = async () => {
    const body = serializeEnvelope({ event_id: randomBytes(16).toString('hex') }, [{ headers: { type: 'event' }, payload: '{"message":"x"}' }]);
    const res = await fetch(`${t.base}/api/${t.projectId}/envelope/?sentry_key=${key.publicKey}`, { method: 'POST', body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  assert.equal((await send()).status, 200);
  await revokeProjectKey(t.pool, key.id);
  const revokedAt = Date.now();
  let last = await send();
  while (last.status === 200) {
    assert.ok(Date.now() - revokedAt < 5000, 'still accepted 5 s after revocation');
    await sleep(100);
    last = await send();
  }
  assert.ok(Date.now() - revokedAt < 5000);
  assert.deepEqual([last.status, last.body], [403, { detail: 'the public key has been revoked', reason: 'invalid_key' }]);
});

test('one query per key however many requests wait; unknown keys are cached too', async () => {
  let queries = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const record: KeyRecord = { id: 1, projectId: 1, active: true, rateLimitPerMinute: null };
  const cache = new KeyCache({
    ttlMs: 1000,
    lookup: async (k) => {
      queries++;
      await gate;
      return k === 'known' ? record : null;
    },
  });
  const waiting = Array.from({ length: 50 }, () => cache.get('known'));
  release();
  for (const w of await Promise.all(waiting)) assert.equal(w, record);
  assert.equal(queries, 1);
  assert.equal(cache.get('known'), record, 'fresh answers are synchronous');
  assert.equal(await cache.get('nope'), null);
  assert.equal(cache.get('nope'), null);
  assert.equal(queries, 2);
});

test('answers older than the TTL are never used: a failing database means 503, not a stale yes', async () => {
  let now = 0;
  let fail = false;
  let queries = 0;
  const cache = new KeyCache({
    ttlMs: 1000,
    now: () => now,
    lookup: async () => {
      queries++;
      if (fail) throw new Error('connection refused');
      return { id: 1, projectId: 1, active: true, rateLimitPerMinute: null };
    },
  });
  await cache.get('k');
  now = 600; // past half the TTL: served from the cache, refreshed in the background
  assert.notEqual(cache.get('k'), null);
  await sleep(0);
  assert.equal(queries, 2);
  fail = true;
  now = 1200; // the background refresh fails; the answer from 600 is still within the TTL
  assert.ok(!(cache.get('k') instanceof Promise));
  await sleep(0);
  now = 1599;
  assert.ok(!(cache.get('k') instanceof Promise));
  await sleep(0);
  now = 1601; // older than the TTL: must be asked again, and the database fails
  await assert.rejects(Promise.resolve(cache.get('k')), (error: Error & { reason?: string; status?: number }) => {
    assert.equal(error.reason, 'key_lookup_unavailable');
    assert.equal(error.status, 503);
    return true;
  });
});
