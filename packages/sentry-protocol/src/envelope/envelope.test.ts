import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseEnvelope, serializeEnvelope } from './envelope';
import { ProtocolError } from '../outcomes/protocol-error';
import type { ReasonCode } from '../outcomes/outcomes';

const HEADER = '{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://e12d836b15bb49d7bbf99e64295d995b:@sentry.io/42"}';

function env(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

function rejects(body: Buffer, reason: ReasonCode, limits = {}): ProtocolError {
  let caught: unknown;
  assert.throws(
    () => parseEnvelope(body, limits),
    (e: unknown) => {
      caught = e;
      return e instanceof ProtocolError && e.reason === reason;
    },
  );
  return caught as ProtocolError;
}

test('header fields: event_id (normalized), dsn, sdk, sent_at', () => {
  const fields = {
    event_id: '9EC79C33-EC99-42AB-8353-589FCB2E04DC',
    dsn: 'https://k@h/1',
    sdk: { name: 'sentry.python', version: '2.0.0' },
    sent_at: '2024-05-01T10:00:00.000Z',
    trace: { x: 1 },
  };
  const { header, items } = parseEnvelope(env(`${JSON.stringify(fields)}\n`));
  assert.equal(header.event_id, '9ec79c33ec9942ab8353589fcb2e04dc');
  assert.equal(header.dsn, 'https://k@h/1');
  assert.deepEqual(header.sdk, { name: 'sentry.python', version: '2.0.0' });
  assert.equal(header.sent_at, '2024-05-01T10:00:00.000Z');
  assert.equal(header.sent_at_ms, Date.UTC(2024, 4, 1, 10));
  assert.deepEqual(header.fields['trace'], { x: 1 });
  assert.equal(items.length, 0);
});

test('header only, with and without the trailing newline (Relay test vectors)', () => {
  assert.equal(parseEnvelope(env(HEADER)).items.length, 0);
  assert.equal(parseEnvelope(env(`${HEADER}\n`)).items.length, 0);
  assert.equal(parseEnvelope(env('{}')).header.event_id, null);
});

test('items with explicit length, binary payloads and newlines inside', () => {
  const body = Buffer.concat([
    env(`${HEADER}\n{"type":"attachment","length":10,"content_type":"text/plain","filename":"hello.txt"}\n`),
    Buffer.from([0xef, 0xbb, 0xbf]),
    env('Hello\r\n\n'),
    env('{"type":"event","length":41,"content_type":"application/json","filename":"application.log"}\n'),
    env('{"message":"hello world","level":"error"}\n'),
  ]);
  const { items } = parseEnvelope(body);
  assert.equal(items.length, 2);
  assert.equal(items[0]?.type, 'attachment');
  assert.equal(items[0]?.category, 'attachment');
  assert.equal(items[0]?.payload.length, 10);
  assert.equal(items[0]?.headers['filename'], 'hello.txt');
  assert.equal(items[1]?.type, 'event');
  assert.equal(items[1]?.category, 'error');
  assert.deepEqual(JSON.parse(items[1]?.payload.toString() ?? ''), { message: 'hello world', level: 'error' });
});

test('zero-length items, with newline or at EOF', () => {
  const withNewline = parseEnvelope(env(`${HEADER}\n{"type":"attachment","length":0}\n\n{"type":"attachment","length":0}\n`));
  assert.deepEqual(withNewline.items.map((i) => i.payload.length), [0, 0]);
  const atEof = parseEnvelope(env(`${HEADER}\n{"type":"attachment","length":0}\n\n{"type":"attachment","length":0}`));
  assert.deepEqual(atEof.items.map((i) => i.payload.length), [0, 0]);
});

test('items without length run to the next newline or EOF', () => {
  assert.equal(parseEnvelope(env(`${HEADER}\n{"type":"attachment"}\nhelloworld\n`)).items[0]?.payload.toString(), 'helloworld');
  assert.equal(parseEnvelope(env(`${HEADER}\n{"type":"attachment"}\nhelloworld`)).items[0]?.payload.toString(), 'helloworld');
  assert.equal(parseEnvelope(env(`${HEADER}\n{"type":"attachment"}`)).items[0]?.payload.length, 0);
  const two = parseEnvelope(env(`${HEADER}\n{"type":"event"}\n{"a":1}\n{"type":"session"}\n{"sid":"x"}\n`));
  assert.deepEqual(two.items.map((i) => [i.type, i.payload.toString()]), [
    ['event', '{"a":1}'],
    ['session', '{"sid":"x"}'],
  ]);
});

test('blank lines between items and at the end are tolerated; CRLF header lines too', () => {
  const { items } = parseEnvelope(env(`${HEADER}\r\n\n{"type":"event","length":2}\r\n{}\n\n\n{"type":"client_report"}\n{}\n\n\r\n`));
  assert.deepEqual(items.map((i) => i.type), ['event', 'client_report']);
});

test('payloads are views into the body, not copies', () => {
  const body = env(`${HEADER}\n{"type":"event","length":2}\n{}\n`);
  const item = parseEnvelope(body).items[0];
  assert.ok(item !== undefined);
  assert.equal(item.payload.buffer, body.buffer);
  assert.equal(item.payload.byteOffset - body.byteOffset, body.indexOf('{}', HEADER.length));
});

test('unknown item types are returned, marked unknown', () => {
  const item = parseEnvelope(env(`${HEADER}\n{"type":"future_thing","length":3}\nabc\n`)).items[0];
  assert.equal(item?.type, 'future_thing');
  assert.equal(item?.known, false);
  assert.equal(item?.category, 'unknown');
});

test('malformed envelopes → invalid_envelope', () => {
  rejects(env('not json\n'), 'invalid_envelope');
  rejects(env('[1,2]\n'), 'invalid_envelope');
  rejects(env('{"event_id":"nope"}\n'), 'invalid_envelope');
  rejects(env('{"sent_at":"yesterday"}\n'), 'invalid_envelope');
  rejects(env('{"dsn":5}\n'), 'invalid_envelope');
  rejects(env(`${HEADER}\n{"length":2}\n{}\n`), 'invalid_envelope');
  rejects(env(`${HEADER}\n{"type":"event","length":-1}\n{}\n`), 'invalid_envelope');
  rejects(env(`${HEADER}\n{"type":"event","length":"2"}\n{}\n`), 'invalid_envelope');
  rejects(env(`${HEADER}\n{"type":"event","length":10}\n{}\n`), 'invalid_envelope');
  rejects(env(`${HEADER}\n{"type":"event","length":1}\n{}\n`), 'invalid_envelope');
  rejects(env(`${HEADER}\n{"type":"event"\n`), 'invalid_envelope');
});

test('empty body → empty_body', () => {
  rejects(Buffer.alloc(0), 'empty_body');
  rejects(env('\n\n'), 'empty_body');
});

test('size bounds: whole envelope, events (1 MiB default), other items, overrides', () => {
  const big = 'x'.repeat(1024 * 1024 + 1);
  const e1 = rejects(env(`${HEADER}\n{"type":"event","length":${big.length}}\n${big}\n`), 'payload_too_large');
  assert.deepEqual(e1.details, { limit: 'item', limitValue: 1024 * 1024, itemType: 'event' });
  rejects(env(`${HEADER}\n{"type":"transaction"}\n${big}\n`), 'payload_too_large');
  // Declared length is checked before the bytes are looked at.
  rejects(env(`${HEADER}\n{"type":"event","length":5000000}\n{}`), 'payload_too_large');
  // Attachments are bounded by the envelope limit unless configured.
  assert.equal(parseEnvelope(env(`${HEADER}\n{"type":"attachment"}\n${big}\n`)).items[0]?.payload.length, big.length);
  rejects(env(`${HEADER}\n{"type":"attachment"}\n${big}\n`), 'payload_too_large', { itemLimits: { attachment: 1000 } });
  rejects(env(`${HEADER}\n{"type":"session"}\n${'y'.repeat(2000)}\n`), 'payload_too_large', { maxItemBytes: 1000 });
  const e2 = rejects(env(`${HEADER}\n{"type":"attachment"}\n${big}\n`), 'payload_too_large', { maxEnvelopeBytes: 1000 });
  assert.equal(e2.details.limit, 'envelope');
});

const itemArb = fc.record({
  type: fc.constantFrom('event', 'transaction', 'attachment', 'session', 'client_report', 'something_new'),
  payload: fc.uint8Array({ maxLength: 300 }),
  withLength: fc.boolean(),
});

test('serialize → parse round-trips any items (payloads without length have no newline)', () => {
  fc.assert(
    fc.property(fc.array(itemArb, { maxLength: 8 }), fc.option(fc.uuid(), { nil: undefined }), (items, uuid) => {
      const prepared = items.map((item) => ({
        headers: { type: item.type },
        payload: item.withLength ? item.payload : Buffer.from(item.payload).filter((b) => b !== 0x0a),
        withLength: item.withLength,
      }));
      // Without a length, a payload cannot be told apart from blank lines when it is empty.
      const kept = prepared.filter((item) => item.withLength || item.payload.length > 0);
      const header = uuid === undefined ? {} : { event_id: uuid };
      const parsed = parseEnvelope(serializeEnvelope(header, kept));
      assert.equal(parsed.header.event_id, uuid === undefined ? null : uuid.replaceAll('-', ''));
      assert.deepEqual(
        parsed.items.map((i) => [i.type, Buffer.from(i.payload)]),
        kept.map((i) => [i.headers.type, Buffer.from(i.payload)]),
      );
    }),
  );
});

test('arbitrary bytes either parse or fail with a ProtocolError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(itemArb, { maxLength: 3 }), (noise, items) => {
      const body = Buffer.concat([serializeEnvelope({}, items.map((i) => ({ headers: { type: i.type }, payload: i.payload }))), noise]);
      try {
        parseEnvelope(body);
      } catch (error) {
        assert.ok(error instanceof ProtocolError, String(error));
      }
    }),
  );
});
