import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { ProtocolError } from '../outcomes/protocol-error';
import { decodeStoreBody } from './store-body';
import type { ReasonCode } from '../outcomes/outcomes';

const json = Buffer.from('{"message":"legacy store event","level":"warning"}');

function rejects(body: Buffer, reason: ReasonCode, maxEventBytes?: number): void {
  assert.throws(
    () => decodeStoreBody(body, maxEventBytes === undefined ? {} : { maxEventBytes }),
    (e: unknown) => e instanceof ProtocolError && e.reason === reason,
    reason,
  );
}

test('plain JSON is returned as a view of the body', () => {
  const out = decodeStoreBody(json);
  assert.equal(out, json);
  assert.deepEqual(decodeStoreBody(Buffer.concat([Buffer.from('\n  '), json, Buffer.from('\r\n')])), json);
});

test('base64 JSON, as old SDKs send it', () => {
  assert.deepEqual(decodeStoreBody(Buffer.from(json.toString('base64'))), json);
  // Line-wrapped base64 and the URL-safe alphabet are decoded too.
  const wrapped = json.toString('base64').replace(/(.{20})/g, '$1\n');
  assert.deepEqual(decodeStoreBody(Buffer.from(wrapped)), json);
  const urlSafe = Buffer.from('{"m":"??>>"}');
  assert.deepEqual(decodeStoreBody(Buffer.from(urlSafe.toString('base64url'))), urlSafe);
});

test('base64 of zlib-deflated JSON (raven-python and friends)', () => {
  assert.deepEqual(decodeStoreBody(Buffer.from(zlib.deflateSync(json).toString('base64'))), json);
});

test('bad bodies are refused with the matching reason', () => {
  rejects(Buffer.alloc(0), 'empty_body');
  rejects(Buffer.from('   \n'), 'empty_body');
  rejects(Buffer.from('<xml/>'), 'invalid_base64');
  rejects(Buffer.from(Buffer.from('not zlib at all').toString('base64')), 'invalid_compression');
});

test('the event bound applies to plain and to inflated JSON', () => {
  rejects(Buffer.from(`{"x":"${'a'.repeat(200)}"}`), 'payload_too_large', 100);
  const bomb = zlib.deflateSync(Buffer.from(`{"x":"${'a'.repeat(5 * 1024 * 1024)}"}`));
  rejects(Buffer.from(bomb.toString('base64')), 'payload_too_large');
});
