import assert from 'node:assert/strict';
import { test } from 'node:test';
import { disabledUntil, isRateLimited, updateRateLimits } from '@sentry/core';
import { formatRateLimitHeader, retryAfterSeconds } from './rate-limits';

test('formats the header SDKs parse, as Relay writes it', () => {
  assert.equal(formatRateLimitHeader([{ retryAfterSeconds: 60, scope: 'key', reasonCode: 'key_quota' }]), '60::key:key_quota');
  assert.equal(
    formatRateLimitHeader([
      { retryAfterSeconds: 2.2, categories: ['error', 'transaction'], scope: 'project' },
      { retryAfterSeconds: 0, categories: ['log_item', 'bad;category'], scope: 'organization', reasonCode: 'bad reason' },
    ]),
    '3:error;transaction:project, 1:log_item:organization',
  );
});

test('Retry-After is the longest limit, at least a second', () => {
  assert.equal(retryAfterSeconds([]), 1);
  assert.equal(retryAfterSeconds([{ retryAfterSeconds: 2.5, scope: 'key' }, { retryAfterSeconds: 30, scope: 'key' }]), 30);
});

test('the real Sentry SDK reads it back: per-category and "all" limits', () => {
  const now = 1_000_000;
  const header = formatRateLimitHeader([
    { retryAfterSeconds: 10, categories: ['error'], scope: 'key' },
    { retryAfterSeconds: 5, scope: 'key', reasonCode: 'key_quota' },
  ]);
  const limits = updateRateLimits({}, { statusCode: 429, headers: { 'x-sentry-rate-limits': header, 'retry-after': '10' } }, now);
  assert.equal(disabledUntil(limits, 'error'), now + 10_000);
  assert.equal(disabledUntil(limits, 'transaction'), now + 5_000);
  assert.ok(isRateLimited(limits, 'session', now + 4_000));
  assert.ok(!isRateLimited(limits, 'session', now + 6_000));
});
