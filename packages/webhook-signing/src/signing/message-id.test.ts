import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { messageId } from './message-id';

test('the same alert event and endpoint always give the same msg_ id', () => {
  const id = messageId('al_01J9ZK8Q2', 'ep_42');
  assert.match(id, /^msg_[a-z2-7]{32}$/);
  assert.equal(messageId('al_01J9ZK8Q2', 'ep_42'), id);
});

test('the derivation matches its specification (so a change cannot re-key replayed alerts unnoticed)', () => {
  // Recomputed independently: SHA-256 over length-prefixed domain, event id and endpoint id,
  // first 160 bits in lowercase RFC 4648 base32.
  const hash = createHash('sha256');
  for (const part of ['vigil.webhook.message-id.v1', 'evt-1', 'ep-1']) {
    const bytes = Buffer.from(part);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  let bits = '';
  for (const byte of hash.digest().subarray(0, 20)) bits += byte.toString(2).padStart(8, '0');
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let expected = 'msg_';
  for (let i = 0; i < bits.length; i += 5) expected += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  assert.equal(messageId('evt-1', 'ep-1'), expected);
});

test('different events or endpoints get different ids, including pairs that concatenate alike', () => {
  assert.notEqual(messageId('al_1', 'ep_1'), messageId('al_1', 'ep_2'));
  assert.notEqual(messageId('al_1', 'ep_1'), messageId('al_2', 'ep_1'));
  assert.notEqual(messageId('ab', 'c'), messageId('a', 'bc'));
  assert.notEqual(messageId('a', 'b'), messageId('b', 'a'));
  const nonEmpty = fc.string({ minLength: 1 });
  fc.assert(
    fc.property(nonEmpty, nonEmpty, nonEmpty, nonEmpty, (a, b, c, d) => {
      fc.pre(a !== c || b !== d);
      assert.notEqual(messageId(a, b), messageId(c, d));
    }),
  );
});

test('empty inputs are refused', () => {
  assert.throws(() => messageId('', 'ep_1'), TypeError);
  assert.throws(() => messageId('al_1', ''), TypeError);
});
