import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { generateSecret } from './secret';
import { signWebhook, verifyWebhook } from './signature';

const body = JSON.stringify({ type: 'alert.created', timestamp: '2025-01-02T03:04:05.000Z', data: { id: 'al_1', title: 'ssh brute force — 🔥' } });

test('headers follow Standard Webhooks: id, unix-seconds timestamp, v1 HMAC-SHA256 of "{id}.{ts}.{body}"', () => {
  const secret = generateSecret();
  const at = new Date('2025-01-02T03:04:05.678Z');
  const headers = signWebhook({ id: 'msg_abc', body, secrets: [secret], timestamp: at });
  assert.equal(headers['webhook-id'], 'msg_abc');
  assert.equal(headers['webhook-timestamp'], String(Math.floor(at.getTime() / 1000)));
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`msg_abc.${headers['webhook-timestamp']}.${body}`).digest('base64');
  assert.equal(headers['webhook-signature'], `v1,${expected}`);
});

test('the standardwebhooks package and svix both accept our signature', () => {
  const secret = generateSecret();
  const headers = signWebhook({ id: 'msg_std', body, secrets: [secret] });
  assert.deepEqual(new StandardWebhook(secret).verify(body, headers), JSON.parse(body));
  assert.deepEqual(new SvixWebhook(secret).verify(body, headers), JSON.parse(body));
  // …and both refuse a tampered body.
  assert.throws(() => new StandardWebhook(secret).verify(body.replace('al_1', 'al_2'), headers));
  assert.throws(() => new SvixWebhook(secret).verify(body.replace('al_1', 'al_2'), headers));
});

test('during rotation a receiver holding either the old or the new secret accepts', () => {
  const oldSecret = generateSecret();
  const newSecret = generateSecret({ byteLength: 24 });
  const headers = signWebhook({ id: 'msg_rot', body, secrets: [newSecret, oldSecret] });
  const parts = headers['webhook-signature'].split(' ');
  assert.equal(parts.length, 2);
  assert.ok(parts.every((part) => part.startsWith('v1,')));
  for (const secret of [oldSecret, newSecret]) {
    assert.deepEqual(new StandardWebhook(secret).verify(body, headers), JSON.parse(body));
    assert.deepEqual(new SvixWebhook(secret).verify(body, headers), JSON.parse(body));
    assert.equal(verifyWebhook({ headers, body, secrets: [secret] }).ok, true);
  }
  // A receiver holding an unrelated secret refuses.
  const stranger = generateSecret();
  assert.throws(() => new StandardWebhook(stranger).verify(body, headers));
  assert.throws(() => new SvixWebhook(stranger).verify(body, headers));
  assert.deepEqual(verifyWebhook({ headers, body, secrets: [stranger] }), { ok: false, reason: 'no_matching_signature' });
});

test('the same secret listed twice yields one signature', () => {
  const secret = generateSecret();
  const headers = signWebhook({ id: 'msg_dup', body, secrets: [secret, secret] });
  assert.equal(headers['webhook-signature'].split(' ').length, 1);
});

test('for any id, body and secret, standardwebhooks and our verifier accept what we sign', () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[\x21-\x7e]{1,40}$/),
      fc.string({ unit: 'grapheme', maxLength: 200 }),
      fc.integer({ min: 24, max: 64 }),
      (id, text, byteLength) => {
        const secret = generateSecret({ byteLength });
        const headers = signWebhook({ id, body: text, secrets: [secret] });
        new StandardWebhook(secret).verify(text, headers, { jsonParse: false });
        assert.equal(verifyWebhook({ headers, body: text, secrets: [secret] }).ok, true);
        // Bytes and the equivalent string sign identically.
        assert.deepEqual(signWebhook({ id, body: Buffer.from(text), secrets: [secret], timestamp: new Date(Number(headers['webhook-timestamp']) * 1000) }), headers);
      },
    ),
    { numRuns: 200 },
  );
});

test('verifyWebhook accepts signatures made by standardwebhooks and reads headers in any case', () => {
  const secret = generateSecret();
  const signer = new StandardWebhook(secret);
  const now = new Date();
  const headers = {
    'Webhook-Id': 'msg_theirs',
    'WEBHOOK-TIMESTAMP': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': `v2,ignored ${signer.sign('msg_theirs', now, body)}`,
  };
  assert.deepEqual(verifyWebhook({ headers, body, secrets: [secret] }), {
    ok: true,
    id: 'msg_theirs',
    timestamp: Math.floor(now.getTime() / 1000),
  });
});

test('verifyWebhook enforces the timestamp tolerance in both directions', () => {
  const secret = generateSecret();
  const signedAt = new Date('2025-06-01T12:00:00Z');
  const headers = signWebhook({ id: 'msg_t', body, secrets: [secret], timestamp: signedAt });
  const at = (offsetSeconds: number) => () => new Date(signedAt.getTime() + offsetSeconds * 1000);
  assert.equal(verifyWebhook({ headers, body, secrets: [secret], now: at(300) }).ok, true);
  assert.equal(verifyWebhook({ headers, body, secrets: [secret], now: at(-300) }).ok, true);
  assert.deepEqual(verifyWebhook({ headers, body, secrets: [secret], now: at(301) }), { ok: false, reason: 'timestamp_too_old' });
  assert.deepEqual(verifyWebhook({ headers, body, secrets: [secret], now: at(-301) }), { ok: false, reason: 'timestamp_too_new' });
  assert.equal(verifyWebhook({ headers, body, secrets: [secret], now: at(3600), toleranceSeconds: 3600 }).ok, true);
});

test('verifyWebhook refuses missing headers, malformed timestamps, and tampering', () => {
  const secret = generateSecret();
  const headers = signWebhook({ id: 'msg_x', body, secrets: [secret] });
  const without = (name: keyof typeof headers) => Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
  for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
    assert.deepEqual(verifyWebhook({ headers: without(name), body, secrets: [secret] }), { ok: false, reason: 'missing_headers' });
  }
  assert.deepEqual(verifyWebhook({ headers: { ...headers, 'webhook-timestamp': '12e8' }, body, secrets: [secret] }), {
    ok: false,
    reason: 'invalid_timestamp',
  });
  const tampered = [
    { ...headers, 'webhook-id': 'msg_y' },
    { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) },
    { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v1a,') },
    { ...headers, 'webhook-signature': 'v1,' + Buffer.alloc(32).toString('base64') },
    { ...headers, 'webhook-signature': 'v1,' },
  ];
  for (const variant of tampered) {
    assert.deepEqual(verifyWebhook({ headers: variant, body, secrets: [secret] }), { ok: false, reason: 'no_matching_signature' });
  }
  assert.deepEqual(verifyWebhook({ headers, body: body + ' ', secrets: [secret] }), { ok: false, reason: 'no_matching_signature' });
});

test('signing refuses ids that cannot travel in a header and an empty secret list', () => {
  const secret = generateSecret();
  for (const id of ['', 'msg with space', 'msg\nnewline', 'msg_é', 'x'.repeat(256)]) {
    assert.throws(() => signWebhook({ id, body, secrets: [secret] }), TypeError, JSON.stringify(id));
  }
  assert.throws(() => signWebhook({ id: 'msg_1', body, secrets: [] }), TypeError);
  assert.throws(() => signWebhook({ id: 'msg_1', body, secrets: ['whsec_short'] }), { name: 'WebhookSecretError' });
});
