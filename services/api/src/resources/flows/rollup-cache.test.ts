import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RollupCache } from './rollup-cache';

test('identical requests share one query while it runs and for the TTL; failures are not kept', async () => {
  const cache = new RollupCache<number>(1000);
  let calls = 0;
  let release!: (n: number) => void;
  const slow = () => {
    calls++;
    return new Promise<number>((resolve) => (release = resolve));
  };
  const a = cache.get('k', slow, 0);
  const b = cache.get('k', slow, 10);
  release(42);
  assert.deepEqual(await Promise.all([a, b]), [42, 42]);
  assert.equal(calls, 1);
  assert.equal(await cache.get('k', async () => 7, 999), 42, 'still fresh');
  assert.equal(await cache.get('k', async () => 7, 1000), 7, 'expired');
  await assert.rejects(cache.get('bad', async () => Promise.reject(new Error('db down')), 0));
  assert.equal(await cache.get('bad', async () => 1, 1), 1, 'a failure is retried');
  const off = new RollupCache<number>(0);
  let n = 0;
  await off.get('k', async () => ++n);
  await off.get('k', async () => ++n);
  assert.equal(n, 2);
});
