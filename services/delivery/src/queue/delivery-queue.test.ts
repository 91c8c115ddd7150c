import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Redis } from 'ioredis';
import { testEnv } from '@vigil/testkit';
import { assertNoEviction, redisConnection } from './delivery-queue';

/**
 * The queue refuses a Redis that may evict keys (an evicted job is a lost delivery). The shared test
 * Redis must not have its global configuration changed, so the refusal is checked against a client
 * whose CONFIG GET answers a different policy; acceptance is checked against the real Redis.
 */
function redisWithPolicy(policy: string): Pick<Redis, 'config'> {
  return {
    config: (async (...args: unknown[]) => {
      assert.deepEqual(args.slice(0, 2), ['GET', 'maxmemory-policy']);
      return ['maxmemory-policy', policy];
    }) as Redis['config'],
  };
}

function recordingLogger() {
  const warnings: string[] = [];
  return { warnings, logger: { warn: ((_obj: unknown, msg?: string) => void warnings.push(msg ?? '')) as never } };
}

test('a Redis whose maxmemory-policy is not noeviction is refused', async () => {
  for (const policy of ['allkeys-lru', 'volatile-lru', 'allkeys-random', 'volatile-ttl']) {
    const { logger } = recordingLogger();
    await assert.rejects(assertNoEviction(redisWithPolicy(policy), logger), (err: Error) => {
      assert.match(err.message, new RegExp(`maxmemory-policy is "${policy}".*needs "noeviction"`));
      return true;
    });
  }
});

test('a Redis that forbids CONFIG is accepted with a warning', async () => {
  const { warnings, logger } = recordingLogger();
  const forbidden = { config: (async () => { throw new Error("ERR unknown command 'CONFIG'"); }) as Redis['config'] };
  await assertNoEviction(forbidden, logger);
  assert.deepEqual(warnings, ['cannot read maxmemory-policy; make sure Redis uses noeviction']);
});

test('the real Redis with maxmemory-policy noeviction is accepted', async () => {
  const redis = redisConnection(testEnv().redisUrl);
  try {
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as string[];
    assert.equal(policy, 'noeviction', 'the test Redis runs with noeviction, as delivery requires');
    const { warnings, logger } = recordingLogger();
    await assertNoEviction(redis, logger);
    assert.deepEqual(warnings, []);
  } finally {
    redis.disconnect();
  }
});
