import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RollupCache } from './rollup-cache';

/** A query that answers when the test releases it, counting its calls. */
function controlledQuery<T>() {
  const q = {
    calls: 0,
    release: (_: T) => {},
    run: () => {
      q.calls++;
      return new Promise<T>((resolve) => (q.release = resolve));
    },
  };
  return q;
}

test('identical requests share one query while it runs and for the TTL; failures are not kept', async () => {
  const cache = new RollupCache<number>(1000);
  const slow = controlledQuery<number>();
  const a = cache.get('k', slow.run, 0);
  const b = cache.get('k', slow.run, 10);
  slow.release(42);
  assert.deepEqual(await Promise.all([a, b]), [42, 42]);
  assert.equal(slow.calls, 1);
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

test('an answer asked for late in its TTL is refreshed in the background; none is served past the TTL', async () => {
  const cache = new RollupCache<string>(1000);
  const settle = () => new Promise((r) => setImmediate(r));
  const q = controlledQuery<string>();
  const query = q.run;
  const first = cache.get('k', query, 0);
  q.release('a');
  assert.equal(await first, 'a');
  assert.equal(await cache.get('k', query, 400), 'a', 'fresh, first half: no refresh');
  assert.equal(q.calls, 1);
  assert.equal(await cache.get('k', query, 600), 'a', 'second half: the old answer, at once');
  assert.equal(q.calls, 2, 'and a refresh started');
  assert.equal(await cache.get('k', query, 700), 'a', 'one refresh at a time');
  assert.equal(q.calls, 2);
  q.release('b');
  await settle();
  assert.equal(await cache.get('k', query, 1050), 'b', 'the refreshed answer (its query started at 600)');
  assert.equal(q.calls, 2);
  // A refresh still running when the answer expires: later requests wait for it, not for a query of their own.
  assert.equal(await cache.get('k', query, 1200), 'b');
  assert.equal(q.calls, 3);
  const waiting = cache.get('k', query, 1700);
  assert.equal(q.calls, 3, 'the running refresh is shared');
  q.release('c');
  assert.equal(await waiting, 'c');

  // A refresh that fails keeps the old answer until it expires; then a request waits for a new query.
  const failing = new RollupCache<string>(1000);
  let n = 0;
  assert.equal(await failing.get('k', async () => `v${++n}`, 0), 'v1');
  assert.equal(await failing.get('k', async () => Promise.reject(new Error('db down')), 700), 'v1');
  await settle();
  assert.equal(await failing.get('k', async () => `v${++n}`, 999), 'v1', 'still within the TTL of the first answer');
  await settle();
  assert.equal(await failing.get('k', async () => `v${++n}`, 1000), 'v2', 'expired: a new query');
});
