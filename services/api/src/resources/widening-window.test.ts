import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DAY_WEEK_ALL, HOUR_DAY_WEEK_ALL, newestFirst } from './widening-window';

const DAY = 86_400_000;

/** The same rows through widening windows as in one unbounded query, whatever their times. */
test('widening windows return exactly the newest rows of the unbounded query', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.oneof(fc.integer({ min: -60 * DAY, max: 3 * DAY }), fc.integer({ min: -2 * 3_600_000, max: 3_600_000 })), { maxLength: 200 }),
      fc.integer({ min: 1, max: 60 }),
      fc.option(fc.integer({ min: -40 * DAY, max: 0 }), { nil: undefined }),
      fc.option(fc.integer({ min: -30 * DAY, max: 2 * DAY }), { nil: undefined }),
      fc.boolean(),
      async (offsets, limit, sinceOffset, afterOffset, hourFirst) => {
        const now = Date.parse('2026-06-01T00:00:00Z');
        const times = offsets.map((o) => now + o).sort((a, b) => b - a);
        const since = sinceOffset === undefined ? undefined : new Date(now + sinceOffset);
        const after = afterOffset === undefined ? null : { timeUs: BigInt(now + afterOffset) * 1000n, id: 'x' };
        const query = (lower: Date | undefined) =>
          times.filter((t) => (lower === undefined || t >= lower.getTime()) && (after === null || t < Number(after.timeUs / 1000n))).slice(0, limit);
        let calls = 0;
        const spans = hourFirst ? HOUR_DAY_WEEK_ALL : DAY_WEEK_ALL;
        const got = await newestFirst({ since, after }, limit, async (lower) => (calls++, query(lower)), now, spans);
        assert.deepEqual(got, query(since));
        assert.ok(calls <= spans.length);
      },
    ),
    { numRuns: 500 },
  );
});
