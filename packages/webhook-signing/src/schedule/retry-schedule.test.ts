import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseDuration } from './duration';
import { createRetrySchedule } from './retry-schedule';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DEFAULT = [5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];

test('default schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h after the first attempt, then dead', () => {
  const schedule = createRetrySchedule({ random: () => 0.5 }); // 0.5 = no jitter
  assert.deepEqual(schedule.delaysMs, DEFAULT);
  assert.equal(schedule.maxAttempts, 8);
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((attempt) => schedule.nextDelay(attempt)),
    DEFAULT,
  );
  assert.equal(schedule.nextDelay(8), null);
  assert.equal(schedule.nextDelay(100), null);
});

test('jitter spreads each delay by ±20% at the extremes of the random source', () => {
  const low = createRetrySchedule({ random: () => 0 });
  const high = createRetrySchedule({ random: () => 1 - Number.EPSILON });
  assert.equal(low.nextDelay(1), 4 * SECOND);
  assert.equal(high.nextDelay(1), 6 * SECOND);
  assert.equal(low.nextDelay(7), 8 * HOUR);
  assert.equal(high.nextDelay(7), 12 * HOUR);
});

test('every jittered delay stays within its bounds for any random value and jitter', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.double({ min: 0, max: 0.99, noNaN: true }),
      fc.integer({ min: 1, max: 7 }),
      (r, jitter, attempt) => {
        const delay = createRetrySchedule({ jitter, random: () => r }).nextDelay(attempt);
        const base = DEFAULT[attempt - 1]!;
        assert.ok(delay !== null);
        assert.ok(delay >= Math.floor(base * (1 - jitter)) && delay <= Math.ceil(base * (1 + jitter)), `${delay} vs ${base}±${jitter}`);
      },
    ),
  );
});

test('Math.random jitter actually varies the delay', () => {
  const schedule = createRetrySchedule();
  const seen = new Set(Array.from({ length: 50 }, () => schedule.nextDelay(2)));
  assert.ok(seen.size > 10);
  for (const delay of seen) assert.ok(delay !== null && delay >= 4 * MINUTE && delay <= 6 * MINUTE);
});

test('a configured schedule (as tests and local development compress it) and zero jitter', () => {
  const schedule = createRetrySchedule({ delays: ['100ms', 250, '1s'], jitter: 0 });
  assert.deepEqual([1, 2, 3, 4].map((attempt) => schedule.nextDelay(attempt)), [100, 250, 1000, null]);
  assert.equal(schedule.maxAttempts, 4);
  assert.equal(createRetrySchedule({ delays: [] }).nextDelay(1), null);
});

test('a Retry-After is a floor for the next delay, never a way to skip the schedule', () => {
  const schedule = createRetrySchedule({ jitter: 0 });
  assert.equal(schedule.nextDelay(1, { retryAfterMs: 2 * SECOND }), 5 * SECOND);
  assert.equal(schedule.nextDelay(1, { retryAfterMs: 60 * SECOND }), 60 * SECOND);
  assert.equal(schedule.nextDelay(8, { retryAfterMs: 60 * SECOND }), null);
});

test('invalid configuration and attempt numbers are refused', () => {
  assert.throws(() => createRetrySchedule({ jitter: 1 }), RangeError);
  assert.throws(() => createRetrySchedule({ jitter: -0.1 }), RangeError);
  assert.throws(() => createRetrySchedule({ delays: ['5 minutes'] }), RangeError);
  assert.throws(() => createRetrySchedule({ delays: [-1] }), RangeError);
  const schedule = createRetrySchedule();
  for (const attempt of [0, -1, 1.5, Number.NaN]) assert.throws(() => schedule.nextDelay(attempt), RangeError);
});

test('durations parse with units ms, s, m, h, d', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration(' 30m '), 30 * MINUTE);
  assert.equal(parseDuration('2h'), 2 * HOUR);
  assert.equal(parseDuration('5d'), 120 * HOUR);
  assert.equal(parseDuration(42), 42);
  for (const bad of ['', '5', 's', '5w', '-5s', '5 s s', 'NaNs']) assert.throws(() => parseDuration(bad), RangeError, bad);
  assert.throws(() => parseDuration(Number.POSITIVE_INFINITY), RangeError);
});
