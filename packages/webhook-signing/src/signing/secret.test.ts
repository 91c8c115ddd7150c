import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateSecret, isValidSecret, parseSecret, WebhookSecretError } from './secret';

test('generated secrets are whsec_ + base64 of 32 random bytes by default and differ each time', () => {
  const a = generateSecret();
  const b = generateSecret();
  assert.match(a, /^whsec_[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(a, b);
  assert.equal(parseSecret(a).length, 32);
});

test('secret length is configurable within 24–64 bytes and refused outside', () => {
  assert.equal(parseSecret(generateSecret({ byteLength: 24 })).length, 24);
  assert.equal(parseSecret(generateSecret({ byteLength: 64 })).length, 64);
  for (const byteLength of [0, 23, 65, 32.5]) {
    assert.throws(() => generateSecret({ byteLength }), RangeError);
  }
});

test('an injected random source decides the bytes', () => {
  const secret = generateSecret({ byteLength: 24, randomBytes: (n) => new Uint8Array(n).fill(0xab) });
  assert.deepEqual([...parseSecret(secret)], new Array(24).fill(0xab));
});

test('parseSecret round-trips any 24–64 byte key, with or without base64 padding', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 24, maxLength: 64 }), (bytes) => {
      const secret = generateSecret({ byteLength: bytes.length, randomBytes: () => bytes });
      assert.deepEqual(new Uint8Array(parseSecret(secret)), bytes);
      assert.deepEqual(new Uint8Array(parseSecret(secret.replace(/=+$/, ''))), bytes);
    }),
  );
});

test('malformed secrets are refused with a reason', () => {
  const valid = generateSecret();
  const cases: [string, string][] = [
    [valid.slice('whsec_'.length), 'secret_prefix'],
    ['WHSEC_' + valid.slice(6), 'secret_prefix'],
    ['whsec_' + 'not base64!'.repeat(4), 'secret_encoding'],
    ['whsec_' + Buffer.alloc(32).toString('base64url').replace(/A/g, '-'), 'secret_encoding'],
    [valid + '=', 'secret_encoding'],
    ['whsec_' + Buffer.alloc(16, 1).toString('base64'), 'secret_length'],
    ['whsec_' + Buffer.alloc(65, 1).toString('base64'), 'secret_length'],
    ['whsec_', 'secret_encoding'],
  ];
  for (const [secret, code] of cases) {
    assert.throws(
      () => parseSecret(secret),
      (error: unknown) => error instanceof WebhookSecretError && error.code === code,
      secret,
    );
    assert.equal(isValidSecret(secret), false);
  }
  assert.equal(isValidSecret(valid), true);
});

test('a non-canonical final base64 character is refused, so each key has one spelling', () => {
  // 32 bytes → 43 characters + "="; the last character carries 2 unused bits.
  const canonical = 'whsec_' + Buffer.alloc(32, 0).toString('base64'); // …AAA=
  const sloppy = canonical.slice(0, -2) + 'B=';
  assert.equal(isValidSecret(canonical), true);
  assert.throws(() => parseSecret(sloppy), { code: 'secret_encoding' });
});
