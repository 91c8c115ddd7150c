import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { ApiHarness, assertError, assertOk } from '../testing/api-harness';
import { retryAfterSeconds, WINDOW_MS } from './sliding-window';

/** What the sliding window counts `dt` ms from now, if nothing else arrives. */
function usedAfter(prev: number, cur: number, elapsed: number, dt: number): number {
  const e = elapsed + dt;
  if (e < WINDOW_MS) return (prev * (WINDOW_MS - e)) / WINDOW_MS + cur;
  if (e < 2 * WINDOW_MS) return (cur * (2 * WINDOW_MS - e)) / WINDOW_MS;
  return 0;
}

test('Retry-After is the first whole second at which one more request fits', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: WINDOW_MS - 1 }), (limit, prev, cur, elapsed) => {
      fc.pre(usedAfter(prev, cur, elapsed, 0) + 1 > limit);
      const wait = retryAfterSeconds(prev, cur, elapsed, limit);
      assert.ok(wait >= 1);
      assert.ok(usedAfter(prev, cur, elapsed, wait * 1000) + 1 <= limit + 1e-9, `fits after ${wait}s`);
      if (wait > 1) assert.ok(usedAfter(prev, cur, elapsed, (wait - 1) * 1000 - 1) + 1 > limit, `not a whole second earlier than ${wait}s`);
    }),
    { numRuns: 2000 },
  );
});

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start({ VIGIL_API_ANONYMOUS_RATE_LIMIT: '4', VIGIL_API_RATE_LIMIT: '1000' });
});
after(async () => h.stop());

test('per-token limit: headers count down, then 429 with Retry-After; other tokens are not affected', async () => {
  const { org } = await h.tenant();
  const { token } = await h.token(org.id, ['org:read'], { rateLimitPerMinute: 5 });
  const { token: other } = await h.token(org.id, ['org:read']);
  const remaining: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await h.get('/v1/organization', { token });
    assertOk(res);
    assert.equal(res.headers.get('x-ratelimit-limit'), '5');
    remaining.push(Number(res.headers.get('x-ratelimit-remaining')));
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    assert.ok(reset * 1000 > Date.now() - 1000 && reset * 1000 <= Date.now() + WINDOW_MS + 1000, 'reset is the end of the current window');
  }
  assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
  const refused = await h.get('/v1/organization', { token });
  assertError(refused, 429, 'rate_limited');
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(retryAfter >= 1 && retryAfter <= 120, `Retry-After ${retryAfter}`);
  assert.equal(refused.headers.get('x-ratelimit-remaining'), '0');
  // Refused requests are not counted: still refused, still 0 left.
  assertError(await h.get('/v1/organization', { token }), 429, 'rate_limited');
  const fine = await h.get('/v1/organization', { token: other });
  assertOk(fine);
  assert.equal(fine.headers.get('x-ratelimit-limit'), '1000');
});

test('the limit is shared by every API instance (it lives in Redis)', async () => {
  const second = await ApiHarness.attach(h);
  try {
    const { org } = await h.tenant();
    const { token } = await h.token(org.id, ['org:read'], { rateLimitPerMinute: 4 });
    assertOk(await h.get('/v1/organization', { token }));
    assertOk(await second.get('/v1/organization', { token }));
    assertOk(await h.get('/v1/organization', { token }));
    assertOk(await second.get('/v1/organization', { token }));
    assertError(await h.get('/v1/organization', { token }), 429, 'rate_limited');
    assertError(await second.get('/v1/organization', { token }), 429, 'rate_limited');
  } finally {
    await second.stop();
  }
});

test('without a valid token, requests are limited per client address', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await h.get('/v1/organization', { token: `vgl_${'x'.repeat(43)}` })).status);
  assert.ok(statuses.includes(401) && statuses.at(-1) === 429, `statuses ${statuses}`);
  const limited = await h.get('/v1/openapi.json');
  assertError(limited, 429, 'rate_limited');
  // A valid token has its own budget.
  const { token } = await h.tenant(['org:read']);
  assertOk(await h.get('/v1/organization', { token }));
});
