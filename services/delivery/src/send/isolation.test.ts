import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthyBeside } from '../testing/isolation';
import { startReceiver } from '../testing/receiver';

/**
 * Head-of-line isolation (see ../testing/isolation.ts): a healthy endpoint beside one that holds
 * each request for 30 s keeps its p99 within 2× of a healthy endpoint alone, and the hanging one
 * never holds more than its 10 slots. Beside an endpoint answering 429: isolation-rate-limited.test.ts;
 * beside one refusing connections: isolation-refused.test.ts (one file each, so that each has the
 * runner's whole per-file time on a busy machine).
 */
test('an endpoint hanging for 30 s does not slow a healthy one: its p99 stays within 2x of the solo p99', async () => {
  const hanging = await startReceiver({ secrets: () => [], reply: () => ({ hangMs: 30_000 }) });
  let maxOpen = 0;
  const { soloP99, mixedP99 } = await healthyBeside({
    url: hanging.url,
    what: 'an endpoint hanging 30 s',
    close: async () => {
      maxOpen = hanging.maxOpen();
      console.log(`the hanging endpoint got ${hanging.requests.length} requests, at most ${maxOpen} open at once`);
      await hanging.close();
    },
  });
  assert.ok(hanging.requests.length > 0, 'the hanging endpoint was subscribed and tried');
  assert.ok(maxOpen <= 10, `the hanging endpoint held at most its 10 slots, not ${maxOpen}`);
  assert.ok(mixedP99 <= 2 * soloP99, `p99 beside a hanging endpoint ${mixedP99} ms > 2 × solo p99 ${soloP99} ms`);
});
