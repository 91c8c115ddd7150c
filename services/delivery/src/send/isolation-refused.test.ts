import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePort } from '@vigil/testkit';
import { healthyBeside } from '../testing/isolation';

/**
 * Head-of-line isolation (see ../testing/isolation.ts) beside an endpoint that is down (nothing
 * listens on its port): the healthy endpoint keeps its p99 within 2× of a healthy endpoint alone and
 * gets every alert, and the down one's messages are held back rather than tried as they arrive.
 */
test('an endpoint refusing connections does not slow a healthy one: its p99 stays within 2x of the solo p99', async () => {
  // A port nothing listens on: every connection attempt is refused at once.
  const port = await freePort();
  const { soloP99, mixedP99, troubledAttempts, firstAttemptP50 } = await healthyBeside({
    url: `http://127.0.0.1:${port}/hook`,
    what: 'an endpoint refusing connections',
    close: async () => undefined,
  });
  assert.deepEqual(Object.keys(troubledAttempts), ['connection_refused'], 'the endpoint on a closed port was tried and its connections refused');
  // Refused connections mark it in trouble: its new messages are held back (for about as long as the
  // trouble has lasted, 1 s at least) instead of each being tried as it arrives, as the healthy
  // endpoint's are. Tried on arrival, its messages would wait for their first attempt about as long
  // as the healthy endpoint's do.
  assert.ok(
    firstAttemptP50.troubled >= firstAttemptP50.healthy + 2000,
    `the endpoint refusing connections was not held back: median from message to first attempt ${firstAttemptP50.troubled} ms, healthy endpoint ${firstAttemptP50.healthy} ms`,
  );
  assert.ok(mixedP99 <= 2 * soloP99, `p99 beside an endpoint refusing connections ${mixedP99} ms > 2 × solo p99 ${soloP99} ms`);
});
