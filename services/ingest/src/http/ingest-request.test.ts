/**
 * Hand-written requests against a real ingest (real Kafka, registry, PostgreSQL, Redis): every
 * credential form, envelope framing, encodings, size bounds, malformed bodies, foreign and unknown
 * keys, content types, CORS — exact statuses and bodies, and for every 200 the record in Kafka.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { serializeEnvelope, type SerializableItem } from '@vigil/sentry-protocol';
import { startTestIngest, type TestIngest } from '../testing/test-ingest';

let t: TestIngest;
before(async () => {
  t = await startTestIngest();
});
after(() => t?.stop());

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function post(path: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${t.base}${path}`, { method: 'POST', body, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

const id = () => randomBytes(16).toString('hex');
const sentryEvent = (eventId = id(), extra: Record<string, unknown> = {}) =>
  JSON.stringify({ event_id: eventId, message: 'login failed', level: 'warning', platform: 'python', timestamp: Date.now() / 1000, ...extra });
const authHeader = (key: string) => `Sentry sentry_version=7, sentry_key=${key}, sentry_client=hand/1.0`;
const envelopeOf = (eventId: string, items: SerializableItem[], header: Record<string, unknown> = {}) =>
  serializeEnvelope({ event_id: eventId, sent_at: new Date().toISOString(), ...header }, items);
const eventItem = (eventId: string, withLength = true): SerializableItem => ({ headers: { type: 'event' }, payload: sentryEvent(eventId), withLength });
const envelopePath = () => `/api/${t.projectId}/envelope/`;
const dsn = (key: string, project = t.projectId) => `http://${key}@127.0.0.1:1/${project}`;

describe('credentials', () => {
  test('X-Sentry-Auth', async () => {
    const eventId = id();
    const a = await post(envelopePath(), envelopeOf(eventId, [eventItem(eventId)]), { 'x-sentry-auth': authHeader(t.publicKey) });
    assert.deepEqual([a.status, a.body], [200, { id: eventId }]);
    const [record] = await t.inKafka([eventId]);
    assert.equal(record?.project_id, t.projectId);
    assert.equal(record?.severity, 'medium');
    assert.equal(record?.sdk_name, 'hand');
  });

  test('Authorization: Sentry', async () => {
    const eventId = id();
    const a = await post(envelopePath(), envelopeOf(eventId, [eventItem(eventId)]), { authorization: authHeader(t.publicKey) });
    assert.deepEqual([a.status, a.body], [200, { id: eventId }]);
    await t.inKafka([eventId]);
  });

  test('sentry_key query parameter', async () => {
    const eventId = id();
    const a = await post(`${envelopePath()}?sentry_key=${t.publicKey}&sentry_version=7`, envelopeOf(eventId, [eventItem(eventId)]));
    assert.deepEqual([a.status, a.body], [200, { id: eventId }]);
    await t.inKafka([eventId]);
  });

  test('the envelope header DSN alone, and together with the same key in a header', async () => {
    const eventId = id();
    const a = await post(envelopePath(), envelopeOf(eventId, [eventItem(eventId)], { dsn: dsn(t.publicKey) }));
    assert.deepEqual([a.status, a.body], [200, { id: eventId }]);
    const second = id();
    const b = await post(envelopePath(), envelopeOf(second, [eventItem(second)], { dsn: dsn(t.publicKey) }), { 'x-sentry-auth': authHeader(t.publicKey) });
    assert.deepEqual([b.status, b.body], [200, { id: second }]);
    await t.inKafka([eventId, second]);
  });

  test('none → 401 missing_auth', async () => {
    const eventId = id();
    const a = await post(envelopePath(), envelopeOf(eventId, [eventItem(eventId)]));
    assert.deepEqual([a.status, a.body], [401, { detail: 'missing authorization information', reason: 'missing_auth' }]);
    assert.equal(a.headers.get('x-sentry-error'), 'missing authorization information');
  });

  test('two sources → 401 multiple_auth, even with the same key', async () => {
    const a = await post(`${envelopePath()}?sentry_key=${t.publicKey}`, envelopeOf(id(), []), { 'x-sentry-auth': authHeader(t.publicKey) });
    assert.deepEqual([a.status, a.body], [401, { detail: 'multiple authorization payloads detected (x-sentry-auth, query)', reason: 'multiple_auth' }]);
    const b = await post(envelopePath(), envelopeOf(id(), [], { dsn: dsn(t.otherPublicKey) }), { 'x-sentry-auth': authHeader(t.publicKey) });
    assert.deepEqual([b.status, b.body], [401, { detail: 'envelope DSN names a different public key than the request', reason: 'multiple_auth' }]);
  });

  test('malformed credential → 401 invalid_auth', async () => {
    const a = await post(envelopePath(), envelopeOf(id(), []), { 'x-sentry-auth': 'Sentry sentry_version=7' });
    assert.deepEqual([a.status, a.body], [401, { detail: 'missing sentry_key in x-sentry-auth', reason: 'invalid_auth' }]);
  });

  test('unknown key → 403 invalid_key', async () => {
    const a = await post(envelopePath(), envelopeOf(id(), []), { 'x-sentry-auth': authHeader('f'.repeat(32)) });
    assert.deepEqual([a.status, a.body], [403, { detail: 'unknown public key', reason: 'invalid_key' }]);
  });

  test("another project's key, or a DSN naming another project → 403 project_id_mismatch", async () => {
    const a = await post(envelopePath(), envelopeOf(id(), []), { 'x-sentry-auth': authHeader(t.otherPublicKey) });
    assert.deepEqual([a.status, a.body], [403, { detail: `the public key belongs to another project than ${t.projectId}`, reason: 'project_id_mismatch' }]);
    const b = await post(envelopePath(), envelopeOf(id(), [], { dsn: dsn(t.publicKey, t.otherProjectId) }));
    assert.deepEqual([b.status, b.body], [
      403,
      { detail: `envelope DSN names project ${t.otherProjectId}, the request path project ${t.projectId}`, reason: 'project_id_mismatch' },
    ]);
  });
});

describe('envelopes', () => {
  const auth = () => ({ 'x-sentry-auth': authHeader(t.publicKey) });

  test('items with and without length, several events, unknown and non-event items', async () => {
    const [a, b] = [id(), id()];
    const body = envelopeOf(a, [
      eventItem(a, true),
      { headers: { type: 'session' }, payload: '{"sid":"x","status":"ok"}', withLength: false },
      { headers: { type: 'new_thing_2030' }, payload: 'whatever\u0001bytes' },
      { headers: { type: 'attachment', filename: 'a.txt' }, payload: 'line1\nline2' },
      {
        headers: { type: 'client_report' },
        payload: JSON.stringify({ discarded_events: [{ reason: 'sample_rate', category: 'error', quantity: 3 }, { reason: 'Bad Reason!', category: 'span', quantity: 2 }] }),
        withLength: false,
      },
      { headers: { type: 'transaction' }, payload: JSON.stringify({ event_id: b, type: 'transaction', transaction: 'GET /login', timestamp: Date.now() / 1000 }), withLength: false },
    ]);
    const answer = await post(envelopePath(), body, auth());
    assert.deepEqual([answer.status, answer.body], [200, { id: a }]);
    const [ea, eb] = await t.inKafka([a, b]);
    assert.equal(ea?.type, 'default');
    assert.equal(ea?.message, 'login failed');
    assert.equal(eb?.type, 'transaction');
    assert.equal(eb?.message, 'GET /login');
    const metrics = await t.metricsText();
    assert.match(metrics, /vigil_ingest_outcomes_total\{outcome="invalid",reason="unknown_item_type",category="unknown",service="ingest"\} 1/);
    assert.match(metrics, /vigil_ingest_outcomes_total\{outcome="invalid",reason="attachment_dropped",category="attachment",service="ingest"\} 1/);
    assert.match(metrics, /vigil_ingest_outcomes_total\{outcome="accepted",reason="",category="session",service="ingest"\} 1/);
    assert.match(metrics, /vigil_ingest_outcomes_total\{outcome="client_discard",reason="sample_rate",category="error",service="ingest"\} 3/);
    assert.match(metrics, /vigil_ingest_outcomes_total\{outcome="client_discard",reason="other",category="span",service="ingest"\} 2/);
    assert.match(metrics, /vigil_ingest_envelope_items_total\{type="unknown",service="ingest"\} 1/);
  });

  test('an envelope of only sessions is accepted and writes nothing', async () => {
    const body = serializeEnvelope({}, [{ headers: { type: 'sessions' }, payload: '{"aggregates":[]}' }]);
    const answer = await post(envelopePath(), body, auth());
    assert.deepEqual([answer.status, answer.body], [200, {}]);
  });

  for (const [name, encode] of [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const) {
    test(`Content-Encoding: ${name}`, async () => {
      const eventId = id();
      const answer = await post(envelopePath(), encode(envelopeOf(eventId, [eventItem(eventId)])), { ...auth(), 'content-encoding': name });
      assert.deepEqual([answer.status, answer.body], [200, { id: eventId }]);
      await t.inKafka([eventId]);
    });
  }

  test('raw deflate (what some clients send as "deflate") is recognised too', async () => {
    const eventId = id();
    const answer = await post(envelopePath(), deflateRawSync(envelopeOf(eventId, [eventItem(eventId)])), { ...auth(), 'content-encoding': 'deflate' });
    assert.deepEqual([answer.status, answer.body], [200, { id: eventId }]);
  });

  test('unknown and corrupt encodings → 415 and 400', async () => {
    const a = await post(envelopePath(), 'x', { ...auth(), 'content-encoding': 'compress' });
    assert.deepEqual([a.status, a.body], [415, { detail: 'unsupported content encoding "compress"', reason: 'unsupported_content_encoding' }]);
    const b = await post(envelopePath(), Buffer.from('not gzip at all'), { ...auth(), 'content-encoding': 'gzip' });
    assert.equal(b.status, 400);
    assert.equal(b.body.reason, 'invalid_compression');
    assert.equal(b.body.detail, 'invalid gzip body');
  });

  test('an event over 1 MiB → 413; an envelope over 20 MiB → 413; a gzip bomb → 413', async () => {
    const eventId = id();
    const big = envelopeOf(eventId, [{ headers: { type: 'event' }, payload: sentryEvent(eventId, { extra: { blob: 'x'.repeat(1024 * 1024) } }) }]);
    const a = await post(envelopePath(), big, auth());
    assert.deepEqual([a.status, a.body], [413, { detail: 'item 0 (event) exceeds 1048576 bytes', reason: 'payload_too_large' }]);

    const huge = Buffer.alloc(21 * 1024 * 1024, 0x20);
    const b = await post(envelopePath(), huge, auth());
    assert.deepEqual([b.status, b.body], [413, { detail: 'request body exceeds 20971520 bytes', reason: 'payload_too_large' }]);

    const bomb = gzipSync(Buffer.alloc(200 * 1024 * 1024, 0x20));
    const c = await post(envelopePath(), bomb, { ...auth(), 'content-encoding': 'gzip' });
    assert.deepEqual([c.status, c.body], [413, { detail: 'decompressed body exceeds 20971520 bytes', reason: 'payload_too_large' }]);

    // The connection still serves requests afterwards.
    const after = id();
    const d = await post(envelopePath(), envelopeOf(after, [eventItem(after)]), auth());
    assert.equal(d.status, 200);
  });

  test('bad JSON in an event item → 400 naming the item; a bad envelope header → 400', async () => {
    const eventId = id();
    const body = envelopeOf(eventId, [eventItem(id()), { headers: { type: 'event' }, payload: '{"message": "unterminated' }]);
    const a = await post(envelopePath(), body, auth());
    assert.equal(a.status, 400);
    assert.equal(a.body.reason, 'invalid_json');
    assert.equal(a.body.detail, 'item 1 (event): event is not valid JSON');
    assert.ok(Array.isArray(a.body.causes) && a.body.causes.length === 1);
    const b = await post(envelopePath(), '{"event_id": 12}\n', auth());
    assert.deepEqual([b.status, b.body], [400, { detail: 'invalid envelope header: bad event_id', reason: 'invalid_envelope' }]);
    const c = await post(envelopePath(), '', auth());
    assert.deepEqual([c.status, c.body], [400, { detail: 'empty envelope', reason: 'empty_body' }]);
    const metrics = await t.metricsText();
    assert.match(metrics, /vigil_ingest_outcomes_total\{outcome="invalid",reason="invalid_json",category="error",service="ingest"\} 1/);
  });
});

describe('store endpoint', () => {
  const path = () => `/api/${t.projectId}/store/`;
  const auth = () => ({ 'x-sentry-auth': authHeader(t.publicKey), 'content-type': 'application/json' });

  test('JSON, base64 and base64+zlib bodies', async () => {
    const [a, b, c] = [id(), id(), id()];
    assert.deepEqual((await post(path(), sentryEvent(a), auth())).body, { id: a });
    assert.deepEqual((await post(path(), Buffer.from(sentryEvent(b)).toString('base64'), auth())).body, { id: b });
    assert.deepEqual((await post(path(), deflateSync(sentryEvent(c)).toString('base64'), auth())).body, { id: c });
    await t.inKafka([a, b, c]);
    const bad = await post(path(), 'this is not base64!', auth());
    assert.deepEqual([bad.status, bad.body], [400, { detail: 'invalid base64 store body', reason: 'invalid_base64' }]);
  });
});

describe('native events', () => {
  const path = () => `/api/${t.projectId}/events/`;
  const auth = (type = 'application/json') => ({ 'x-sentry-auth': authHeader(t.publicKey), 'content-type': type });
  const native = (extra: Record<string, unknown> = {}) => ({
    class: 'audit',
    severity: 'low',
    type: 'user.role_changed',
    message: 'alice made bob admin',
    attributes: { actor: 'alice', target: 'bob' },
    ...extra,
  });

  test('an object, an array and NDJSON', async () => {
    const one = id();
    const a = await post(path(), JSON.stringify(native({ event_id: one })), auth());
    assert.deepEqual([a.status, a.body], [200, { id: one }]);
    const [x, y] = [id(), id()];
    const b = await post(path(), JSON.stringify([native({ event_id: x }), native({ event_id: y, severity: 'critical' })]), auth());
    assert.deepEqual([b.status, b.body], [200, { id: x, ids: [x, y] }]);
    const ndjson = [native(), native({ class: 'network' })].map((r) => JSON.stringify(r)).join('\n');
    const c = await post(path(), ndjson, auth('application/x-ndjson'));
    assert.equal(c.status, 200);
    const ids = c.body.ids as string[];
    assert.equal(ids.length, 2);
    const records = await t.inKafka([one, x, y, ...ids]);
    assert.deepEqual(records.map((r) => [r.source, r.class, r.severity]), [
      ['native', 'audit', 'low'],
      ['native', 'audit', 'low'],
      ['native', 'audit', 'critical'],
      ['native', 'audit', 'low'],
      ['native', 'network', 'low'],
    ]);
    assert.deepEqual(records[0]?.attributes, { actor: 'alice', target: 'bob' });
  });

  test('a bad record → 400 naming the record and field; nothing is written', async () => {
    const good = id();
    const a = await post(path(), JSON.stringify([native({ event_id: good }), native({ severity: 'urgent' })]), auth());
    assert.equal(a.status, 400);
    assert.equal(a.body.reason, 'invalid_native_event');
    assert.match(a.body.detail as string, /^invalid native event \(event 1, field severity\): /);
    assert.deepEqual((a.body.issues as Array<Record<string, unknown>>).map((i) => [i.record, i.field]), [[1, 'severity']]);
    const marker = id();
    await post(path(), JSON.stringify(native({ event_id: marker })), auth());
    await t.inKafka([marker]);
    assert.equal(t.seen.has(good), false);
  });
});

describe('HTTP surface', () => {
  test('content types: browser form types are taken, others refused with 415', async () => {
    for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'application/x-sentry-envelope']) {
      const eventId = id();
      const a = await post(envelopePath(), envelopeOf(eventId, [eventItem(eventId)]), { 'x-sentry-auth': authHeader(t.publicKey), 'content-type': type });
      assert.equal(a.status, 200, type);
    }
    const a = await post(envelopePath(), 'x', { 'x-sentry-auth': authHeader(t.publicKey), 'content-type': 'image/png' });
    assert.deepEqual([a.status, a.body], [415, { detail: 'unsupported content type "image/png" for envelope', reason: 'unsupported_content_type' }]);
  });

  test('CORS preflight and headers for browser SDKs', async () => {
    const pre = await fetch(`${t.base}${envelopePath()}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(pre.status, 200);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /x-sentry-auth/);
    const eventId = id();
    const a = await post(`${envelopePath()}?sentry_key=${t.publicKey}`, envelopeOf(eventId, [eventItem(eventId)]), {
      origin: 'https://app.example',
      'content-type': 'text/plain;charset=UTF-8',
    });
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('access-control-allow-origin'), '*');
    assert.match(a.headers.get('access-control-expose-headers') ?? '', /x-sentry-rate-limits/);
  });

  test('wrong method → 405; unknown path → 404; health and metrics on the same port', async () => {
    const get = await fetch(`${t.base}${envelopePath()}`);
    assert.equal(get.status, 405);
    assert.deepEqual(await get.json(), { detail: 'GET is not allowed here; use POST', reason: 'method_not_allowed' });
    assert.equal((await fetch(`${t.base}/api/${t.projectId}/nope/`, { method: 'POST' })).status, 404);
    assert.equal((await fetch(`${t.base}/api/abc/envelope/`, { method: 'POST' })).status, 404);
    assert.deepEqual(await (await fetch(`${t.base}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${t.base}/readyz`);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { accepting: true, event_log: true, postgres: true } });
    assert.match(await t.metricsText(), /vigil_ingest_requests_total\{endpoint="envelope",status="405",service="ingest"\} 1/);
  });
});
