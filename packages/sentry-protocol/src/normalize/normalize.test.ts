import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { normalizeSentryEvent, type SentryEventContext } from './normalize';
import { ProtocolError } from '../outcomes/protocol-error';
import { EVENT_CLASSES, SEVERITIES, type NormalizedEvent } from '../record';

const NOW = Date.UTC(2025, 2, 1, 12, 0, 0);
const ctx: SentryEventContext = { projectId: 7, receivedAtMs: NOW, clientIp: '203.0.113.9' };

function norm(event: unknown, extra: Partial<SentryEventContext> = {}): NormalizedEvent {
  return normalizeSentryEvent(Buffer.from(JSON.stringify(event)), { ...ctx, ...extra });
}

test('an empty event gets Relay defaults', () => {
  const e = norm({});
  assert.match(e.event_id, /^[0-9a-f]{32}$/);
  assert.deepEqual({ ...e, event_id: '', raw: null }, {
    event_id: '',
    project_id: 7,
    timestamp_ms: NOW,
    received_at_ms: NOW,
    source: 'sentry',
    class: 'error',
    severity: 'high',
    type: 'default',
    message: null,
    exception_type: null,
    exception_value: null,
    platform: null,
    release: null,
    environment: null,
    tags: {},
    user: null,
    fingerprint: [],
    client_ip: '203.0.113.9',
    sdk_name: null,
    sdk_version: null,
    attributes: {},
    raw: null,
  });
});

test('event_id: the event, else the envelope header, else generated; always 32 lowercase hex', () => {
  const envelope = { event_id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', sdk: null, sent_at_ms: null };
  assert.equal(norm({ event_id: 'B5C0E3E1-0D5B-4D0E-9A86-7A3F1D2E4C5B' }, { envelope }).event_id, 'b5c0e3e10d5b4d0e9a867a3f1d2e4c5b');
  assert.equal(norm({}, { envelope }).event_id, envelope.event_id);
  assert.equal(norm({ event_id: 'garbage' }, { envelope }).event_id, envelope.event_id);
  assert.notEqual(norm({}).event_id, norm({}).event_id);
});

test('severity from level, with Relay aliases and logging numbers', () => {
  const table: Array<[unknown, string]> = [
    ['fatal', 'critical'],
    ['critical', 'critical'],
    ['error', 'high'],
    ['warning', 'medium'],
    ['warn', 'medium'],
    ['info', 'low'],
    ['log', 'low'],
    ['debug', 'info'],
    ['DEBUG', 'info'],
    [50, 'critical'],
    [30, 'medium'],
    [10, 'info'],
    ['nonsense', 'high'],
    [undefined, 'high'],
  ];
  for (const [level, severity] of table) assert.equal(norm({ level }).severity, severity, String(level));
  assert.equal(norm({ type: 'transaction' }).severity, 'low');
});

test('class comes from the vigil.class tag when it names a valid class', () => {
  assert.equal(norm({ tags: { 'vigil.class': 'audit' } }).class, 'audit');
  assert.equal(norm({ tags: [['vigil.class', 'Network']] }).class, 'network');
  assert.equal(norm({ tags: { 'vigil.class': 'security' } }).class, 'security');
  assert.equal(norm({ tags: { 'vigil.class': 'bogus' } }).class, 'error');
});

test('exception: the last (raised) entry; type split from "Type: value"; legacy shapes', () => {
  const chained = norm({
    exception: {
      values: [
        { type: 'ConnectionError', value: 'reset by peer' },
        { type: 'AuthError', value: 'login failed', module: 'app.auth' },
      ],
    },
  });
  assert.equal(chained.type, 'error');
  assert.equal(chained.exception_type, 'AuthError');
  assert.equal(chained.exception_value, 'login failed');
  assert.equal(chained.message, 'login failed');

  const split = norm({ exception: { values: [{ value: 'ValueError: bad input' }] } });
  assert.deepEqual([split.exception_type, split.exception_value], ['ValueError', 'bad input']);

  assert.equal(norm({ exception: [{ type: 'A', value: 'a' }] }).exception_type, 'A');
  assert.equal(norm({ exception: { type: 'B', value: 'b' } }).exception_type, 'B');
  assert.equal(norm({ 'sentry.interfaces.Exception': { values: [{ type: 'C' }] } }).exception_type, 'C');
  assert.equal(norm({ 'sentry.interfaces.Exception': { values: [{ type: 'C' }] } }).message, 'C');
  assert.equal(norm({ exception: { values: [] } }).type, 'default');
});

test('synthetic exceptions (stack carriers of captureMessage) do not make an error', () => {
  const e = norm({
    message: 'disk almost full',
    level: 'warning',
    exception: { values: [{ value: 'disk almost full', mechanism: { type: 'generic', synthetic: true } }] },
  });
  assert.equal(e.type, 'default');
  assert.equal(e.exception_type, null);
  assert.equal(e.exception_value, null);
  assert.equal(e.message, 'disk almost full');
});

test('message precedence: logentry.formatted, logentry.message, message, exception', () => {
  assert.equal(norm({ logentry: { formatted: 'F', message: 'M %s', params: ['x'] }, message: 'S' }).message, 'F');
  assert.equal(norm({ logentry: { message: 'M %s' }, message: 'S' }).message, 'M %s');
  assert.equal(norm({ message: 'S' }).message, 'S');
  assert.equal(norm({ message: { formatted: 'legacy object' } }).message, 'legacy object');
  assert.equal(norm({ 'sentry.interfaces.Message': { message: 'alias' } }).message, 'alias');
  assert.equal(norm({ message: '  ', exception: { values: [{ type: 'T', value: 'v' }] } }).message, 'v');
});

test('long text is cut with "..."', () => {
  const e = norm({ message: 'x'.repeat(10_000) });
  assert.equal(e.message?.length, 8192);
  assert.ok(e.message?.endsWith('...'));
  const short = normalizeSentryEvent(Buffer.from('{"message":"abcdefghij"}'), ctx, { maxMessageChars: 6 });
  assert.equal(short.message, 'abc...');
});

test('transactions: type, default severity and the transaction name as message', () => {
  const e = norm({ transaction: 'GET /login', contexts: { trace: { trace_id: 'abc' } } }, { itemType: 'transaction' });
  assert.equal(e.type, 'transaction');
  assert.equal(e.severity, 'low');
  assert.equal(e.message, 'GET /login');
  assert.deepEqual(e.attributes, { contexts: { trace: { trace_id: 'abc' } }, transaction: 'GET /login' });
});

test('special Sentry event types are kept', () => {
  assert.equal(norm({ type: 'csp' }).type, 'csp');
  assert.equal(norm({ type: 'made-up' }).type, 'default');
});

test('tags: object or array of pairs, primitives stringified, invalid ones dropped', () => {
  assert.deepEqual(norm({ tags: [['a', 'x'], ['n', 42], ['b', true], ['a', 'last']] }).tags, { a: 'last', n: '42', b: 'true' });
  assert.deepEqual(
    norm({ tags: { ok: 'v', empty: '', nul: null, obj: { x: 1 }, multi: 'a\nb', long: 'v'.repeat(201), ['k'.repeat(201)]: 'v' } }).tags,
    { ok: 'v' },
  );
  const proto = normalizeSentryEvent(Buffer.from('{"tags":{"__proto__":"p","x":"y"}}'), ctx).tags;
  assert.equal(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(proto['__proto__' as keyof typeof proto], 'p');
});

test('release, environment, platform and SDK', () => {
  const e = norm({ release: 'api@2.0.1', environment: 'production', platform: 'python', sdk: { name: 'sentry.python', version: '2.1.0' } });
  assert.deepEqual(
    [e.release, e.environment, e.platform, e.sdk_name, e.sdk_version],
    ['api@2.0.1', 'production', 'python', 'sentry.python', '2.1.0'],
  );
  assert.equal(norm({ release: 42 }).release, '42');
  assert.equal(norm({ release: 'a\nb' }).release, null);
  assert.equal(norm({ environment: 'prod/eu' }).environment, null);
  assert.equal(norm({ environment: 'e'.repeat(65) }).environment, null);
  // Falls back to the envelope header's SDK, then to the auth's sentry_client.
  const envelope = { event_id: null, sdk: { name: 'sentry.go', version: '0.30.0' }, sent_at_ms: null };
  assert.equal(norm({}, { envelope }).sdk_name, 'sentry.go');
  const fromClient = norm({}, { auth: { client: 'raven-python/6.10.0' } });
  assert.deepEqual([fromClient.sdk_name, fromClient.sdk_version], ['raven-python', '6.10.0']);
});

test('fingerprint: values as strings, missing → []', () => {
  assert.deepEqual(norm({ fingerprint: ['{{ default }}', 'auth', 3, null] }).fingerprint, ['{{ default }}', 'auth', '3']);
  assert.deepEqual(norm({ fingerprint: 'not-a-list' }).fingerprint, []);
});

test('user fields and {{auto}} IP rules (Relay, legacy SDKs)', () => {
  assert.deepEqual(norm({ user: { id: 17, email: 'a@b.c', username: 'ada', ip_address: '{{auto}}' } }).user, {
    id: '17',
    email: 'a@b.c',
    username: 'ada',
    ip_address: '203.0.113.9',
  });
  assert.equal(norm({ user: { id: 'x', ip_address: '198.51.100.4' } }).user?.ip_address, '198.51.100.4');
  assert.equal(norm({ user: { id: 'x', ip_address: 'not-an-ip' } }).user?.ip_address, null);
  // Missing IP: inferred for browser-like platforms only.
  assert.equal(norm({ platform: 'javascript' }).user?.ip_address, '203.0.113.9');
  assert.equal(norm({ platform: 'cocoa', user: { id: 'u' } }).user?.ip_address, '203.0.113.9');
  assert.equal(norm({ platform: 'node', user: { id: 'u' } }).user?.ip_address, null);
  assert.equal(norm({ platform: 'node' }).user, null);
  assert.equal(norm({ request: { env: { REMOTE_ADDR: '192.0.2.1' } } }).user?.ip_address, '192.0.2.1');
});

test('sdk.settings.infer_ip overrides the legacy rules', () => {
  const auto = norm({ platform: 'python', sdk: { settings: { infer_ip: 'auto' } }, user: { id: 'u' } });
  assert.equal(auto.user?.ip_address, '203.0.113.9');
  const never = norm({ platform: 'javascript', sdk: { settings: { infer_ip: 'never' } }, user: { id: 'u', ip_address: '{{auto}}' } });
  assert.equal(never.user?.ip_address, null);
  assert.equal(never.client_ip, null);
  const explicit = norm({ sdk: { settings: { infer_ip: 'never' } }, user: { ip_address: '192.0.2.7' } });
  assert.equal(explicit.user?.ip_address, '192.0.2.7');
});

test('client IP: IPv4-mapped IPv6 becomes IPv4; garbage becomes null', () => {
  assert.equal(norm({}, { clientIp: '::ffff:10.1.2.3' }).client_ip, '10.1.2.3');
  assert.equal(norm({}, { clientIp: '2001:DB8::1' }).client_ip, '2001:db8::1');
  assert.equal(norm({}, { clientIp: 'unix-socket' }).client_ip, null);
  assert.equal(norm({}, { clientIp: null }).client_ip, null);
});

test('timestamps: float seconds, RFC 3339, no offset as UTC, numeric strings', () => {
  const t = NOW - 5000;
  assert.equal(norm({ timestamp: t / 1000 + 0.0004 }).timestamp_ms, t);
  assert.equal(norm({ timestamp: new Date(t).toISOString() }).timestamp_ms, t);
  assert.equal(norm({ timestamp: '2025-03-01T11:59:55.000123' }).timestamp_ms, t);
  assert.equal(norm({ timestamp: '2025-03-01T13:59:55+02:00' }).timestamp_ms, t);
  assert.equal(norm({ timestamp: String(t / 1000) }).timestamp_ms, t);
  assert.equal(norm({ timestamp: 'yesterday' }).timestamp_ms, NOW);
});

test('timestamps: absurd ones become the receive time; clock drift is corrected', () => {
  assert.equal(norm({ timestamp: NOW / 1000 + 3600 }).timestamp_ms, NOW);
  assert.equal(norm({ timestamp: NOW / 1000 + 30 }).timestamp_ms, NOW + 30_000);
  assert.equal(norm({ timestamp: NOW / 1000 - 40 * 86400 }).timestamp_ms, NOW);
  const old = normalizeSentryEvent(Buffer.from(`{"timestamp":${NOW / 1000 - 40 * 86400}}`), ctx, { maxPastMs: null });
  assert.equal(old.timestamp_ms, NOW - 40 * 86400 * 1000);
  // The client clock is 2 h behind: its sent_at and timestamp are both shifted forward.
  const skew = 2 * 3600 * 1000;
  const envelope = { event_id: null, sdk: null, sent_at_ms: NOW - skew };
  assert.equal(norm({ timestamp: (NOW - skew - 1000) / 1000 }, { envelope }).timestamp_ms, NOW - 1000);
  // Small differences are network latency, not drift.
  const near = { event_id: null, sdk: null, sent_at_ms: NOW - 20_000 };
  assert.equal(norm({ timestamp: (NOW - 25_000) / 1000 }, { envelope: near }).timestamp_ms, NOW - 25_000);
});

test('attributes carry contexts and top-level fields without a column', () => {
  const e = norm({
    contexts: { os: { name: 'Linux' } },
    logger: 'auth',
    server_name: 'web-1',
    dist: '12',
    request: { method: 'POST', url: 'https://app.example/login', headers: { Cookie: 'secret' } },
    extra: { ignored: true },
  });
  assert.deepEqual(e.attributes, {
    contexts: { os: { name: 'Linux' } },
    logger: 'auth',
    server_name: 'web-1',
    dist: '12',
    request: { method: 'POST', url: 'https://app.example/login' },
  });
});

test('raw keeps the exact bytes; a UTF-8 BOM is tolerated', () => {
  const payload = Buffer.from('\ufeff{"message":"bom"}');
  const e = normalizeSentryEvent(payload, ctx);
  assert.equal(e.raw, payload);
  assert.equal(e.message, 'bom');
});

test('invalid JSON → invalid_json; JSON that is not an object → invalid_event', () => {
  for (const [payload, reason] of [
    ['{"message":', 'invalid_json'],
    ['', 'invalid_json'],
    ['[1,2]', 'invalid_event'],
    ['"text"', 'invalid_event'],
    ['null', 'invalid_event'],
  ] as const) {
    assert.throws(
      () => normalizeSentryEvent(Buffer.from(payload), ctx),
      (e: unknown) => e instanceof ProtocolError && e.reason === reason,
      payload,
    );
  }
});

const SENTRY_FIELDS = [
  'level',
  'tags',
  'user',
  'exception',
  'message',
  'logentry',
  'timestamp',
  'release',
  'fingerprint',
  'sdk',
  'platform',
  'type',
  'contexts',
  'event_id',
];

test('any JSON object normalizes into a well-formed record', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...SENTRY_FIELDS), fc.jsonValue()), (event) => {
      const e = norm(event);
      assert.match(e.event_id, /^[0-9a-f]{32}$/);
      assert.ok(SEVERITIES.includes(e.severity));
      assert.ok(EVENT_CLASSES.includes(e.class));
      assert.ok(Number.isInteger(e.timestamp_ms));
      assert.ok(e.timestamp_ms <= NOW + 60_000);
      for (const [k, v] of Object.entries(e.tags)) assert.ok(typeof k === 'string' && typeof v === 'string');
      for (const part of e.fingerprint) assert.equal(typeof part, 'string');
    }),
  );
});
