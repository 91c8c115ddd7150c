import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { minuteWindow, rollupPieces } from './flow-query';

const MINUTE = 60_000;
const HOUR = 3_600_000;

test('a window splits into whole hours and edge minutes that cover it exactly once', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 10 * 24 * 60 }), fc.integer({ min: 1, max: 3 * 24 * 60 }), (startMinute, minutes) => {
      const base = Date.parse('2026-01-01T00:00:00Z');
      const w = minuteWindow(new Date(base + startMinute * MINUTE), new Date(base + (startMinute + minutes) * MINUTE));
      const { hours, minutes: edges } = rollupPieces(w);
      const covered: Array<[number, number]> = [];
      if (hours) {
        assert.equal(hours.since.getTime() % HOUR, 0);
        assert.equal(hours.until.getTime() % HOUR, 0);
        covered.push([hours.since.getTime(), hours.until.getTime()]);
      }
      for (const e of edges) {
        assert.ok(e.until.getTime() - e.since.getTime() < HOUR || !hours, 'edges are shorter than an hour');
        covered.push([e.since.getTime(), e.until.getTime()]);
      }
      covered.sort((a, b) => a[0] - b[0]);
      assert.equal(covered[0]![0], w.since.getTime());
      for (let i = 1; i < covered.length; i++) assert.equal(covered[i]![0], covered[i - 1]![1], 'no gap, no overlap');
      assert.equal(covered.at(-1)![1], w.until.getTime());
      for (const [a, b] of covered) assert.ok(a < b);
    }),
    { numRuns: 2000 },
  );
});
