import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CATEGORIES, EVENT_ITEM_TYPES, OUTCOMES, REASONS, isKnownItemType, isReasonCode, itemCategory } from './outcomes';
import { ProtocolError } from './protocol-error';

test('every reason has an outcome, a message, and a 4xx/5xx status or none', () => {
  for (const [code, spec] of Object.entries(REASONS)) {
    assert.match(code, /^[a-z][a-z0-9_]*$/);
    assert.ok(OUTCOMES.includes(spec.outcome), code);
    assert.notEqual(spec.outcome, 'accepted', code);
    assert.ok(spec.message.length > 0, code);
    assert.ok(spec.status === null || (spec.status >= 400 && spec.status < 600), code);
  }
  assert.equal(REASONS.payload_too_large.status, 413);
  assert.equal(REASONS.missing_auth.status, 401);
  assert.equal(REASONS.multiple_auth.status, 401);
  assert.equal(REASONS.key_rate_limit.outcome, 'rate_limited');
  assert.equal(REASONS.key_rate_limit.status, 429);
  assert.equal(REASONS.event_log_unavailable.status, 503);
  assert.equal(REASONS.key_lookup_unavailable.status, 503);
  assert.equal(REASONS.method_not_allowed.status, 405);
});

test('every reason code is documented in the package README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const code of Object.keys(REASONS)) assert.ok(readme.includes(`\`${code}\``), `README lacks ${code}`);
  for (const category of CATEGORIES) assert.ok(readme.includes(`\`${category}\``), `README lacks category ${category}`);
});

test('item types map to categories; unknown ones are marked', () => {
  assert.equal(itemCategory('event'), 'error');
  assert.equal(itemCategory('transaction'), 'transaction');
  assert.equal(itemCategory('sessions'), 'session');
  assert.equal(itemCategory('client_report'), 'client_report');
  assert.equal(itemCategory('attachment'), 'attachment');
  assert.equal(itemCategory('toString'), 'unknown');
  assert.equal(isKnownItemType('replay_recording'), true);
  assert.equal(isKnownItemType('constructor'), false);
  for (const type of EVENT_ITEM_TYPES) assert.ok(isKnownItemType(type));
  assert.ok(isReasonCode('invalid_json'));
  assert.ok(!isReasonCode('hasOwnProperty'));
});

test('ProtocolError carries the status and a Relay-shaped body', () => {
  const plain = new ProtocolError('missing_auth');
  assert.equal(plain.status, 401);
  assert.deepEqual(plain.toResponseBody(), { detail: 'missing authorization information', reason: 'missing_auth' });

  const withCause = new ProtocolError('invalid_json', 'event is not valid JSON', {}, { cause: new SyntaxError('Unexpected end') });
  assert.deepEqual(withCause.toResponseBody(), { detail: 'event is not valid JSON', reason: 'invalid_json', causes: ['Unexpected end'] });

  const issues = [{ record: 1, field: 'severity', message: 'bad' }];
  assert.deepEqual(new ProtocolError('invalid_native_event', 'x', { issues }).toResponseBody().issues, issues);
  // Item-level reasons reject with 400 if they ever end a request.
  assert.equal(new ProtocolError('unknown_item_type').status, 400);
});
