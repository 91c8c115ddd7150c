import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthyBeside } from '../testing/isolation';
import { startReceiver } from '../testing/receiver';

/**
 * Head-of-line isolation (see ../testing/isolation.ts) beside an endpoint answering 429 with
 * Retry-After: 60: the healthy endpoint keeps its p99 within 2× of a healthy endpoint alone and gets
 * every alert, and the rate-limited one is not asked again while its Retry-After lasts.
 */
test('an endpoint answering 429 with Retry-After: 60 does not slow a healthy one: its p99 stays within 2x of the solo p99', async () => {
  const throttled = await startReceiver({ secrets: () => [], reply: () => ({ status: 429, headers: { 'retry-after': '60' } }) });
  const { soloP99, mixedP99, troubledAttempts } = await healthyBeside({
    url: throttled.url,
    what: 'an endpoint answering 429 with Retry-After: 60',
    close: async () => {
      console.log(`the endpoint answering 429 got ${throttled.requests.length} requests`);
      await throttled.close();
    },
  });
  assert.ok(throttled.requests.length > 0, 'the endpoint answering 429 was subscribed and tried');
  // Each 429 pauses it for 60 s. Only the requests already under way when the first 429 came back
  // (at most its 10 slots) reach it before that; after each pause, one probe at a time.
  const arrivals = throttled.requests.map((r) => r.receivedAt);
  const pauses = Math.floor((Math.max(...arrivals) - Math.min(...arrivals)) / 60_000);
  assert.ok(
    throttled.requests.length <= 10 + pauses,
    `the endpoint answering 429 was asked again while paused: ${throttled.requests.length} requests over ${pauses} pauses of 60 s`,
  );
  assert.deepEqual(Object.keys(troubledAttempts), ['http_rate_limited'], 'its attempts were recorded as rate limited');
  assert.ok(mixedP99 <= 2 * soloP99, `p99 beside an endpoint answering 429 ${mixedP99} ms > 2 × solo p99 ${soloP99} ms`);
});
