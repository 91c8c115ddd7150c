/** A real `@sentry/node` envelope captured by sentry-sdk.test.ts, replayed without the SDK. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { extractAuth, normalizeSentryEvent, parseEnvelope, readBody } from '../index';

const dir = new URL('./fixtures/', import.meta.url);
const body = readFileSync(new URL('node-sdk-exception.envelope', dir));
const meta = JSON.parse(readFileSync(new URL('node-sdk-exception.request.json', dir), 'utf8')) as {
  url: string;
  headers: Record<string, string>;
  client_ip: string;
  received_at_ms: number;
  event_id: string;
  sdk_version: string;
};

test('the captured envelope authenticates, parses and normalizes', async () => {
  const url = new URL(meta.url, 'http://localhost');
  const decoded = await readBody(gzipSync(body), { contentEncoding: 'gzip', maxDecompressedBytes: 1 << 20 });
  assert.deepEqual(decoded, body);

  const envelope = parseEnvelope(decoded);
  const auth = extractAuth({ projectId: 42, headers: meta.headers, query: url.search, envelopeDsn: envelope.header.dsn });
  assert.equal(auth.publicKey, '0123456789abcdef0123456789abcdef');
  assert.equal(auth.source, 'query');
  assert.equal(envelope.header.event_id, meta.event_id);
  assert.equal(envelope.items.length, 1);
  const item = envelope.items[0];
  assert.ok(item !== undefined);
  assert.equal(item.type, 'event');
  // No `length` in the SDK's item header: the payload runs to the end of the line.
  assert.equal(item.headers['length'], undefined);
  assert.equal(item.payload.buffer, decoded.buffer, 'payload is a view into the body');

  const event = normalizeSentryEvent(item.payload, {
    projectId: auth.projectId,
    receivedAtMs: meta.received_at_ms,
    clientIp: meta.client_ip,
    itemType: item.type,
    envelope: envelope.header,
    auth,
  });
  assert.equal(event.event_id, meta.event_id);
  assert.equal(event.type, 'error');
  assert.equal(event.class, 'security');
  assert.equal(event.severity, 'high');
  assert.equal(event.exception_type, 'TypeError');
  assert.equal(event.exception_value, 'token signature mismatch');
  assert.equal(event.message, 'token signature mismatch');
  assert.equal(event.release, 'vigil-test@1.2.3');
  assert.equal(event.environment, 'staging');
  assert.deepEqual(event.user, { id: 'u-17', email: 'ada@example.com', username: 'ada', ip_address: '127.0.0.1' });
  assert.equal(event.sdk_name, 'sentry.javascript.node');
  assert.equal(event.sdk_version, meta.sdk_version);
  assert.ok(event.timestamp_ms <= meta.received_at_ms && event.timestamp_ms > meta.received_at_ms - 60_000);
  assert.equal(event.raw, item.payload);
});
