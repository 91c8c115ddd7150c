import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseNativeEvents, type NativeEventsContext } from './native-events';
import { ProtocolError } from '../outcomes/protocol-error';
import { EVENT_CLASSES, SEVERITIES } from '../record';
import type { ReasonCode } from '../outcomes/outcomes';

const NOW = Date.UTC(2025, 5, 1, 8, 30);
const ctx: NativeEventsContext = { projectId: 3, receivedAtMs: NOW, clientIp: '192.0.2.10' };
const base = {
  class: 'security',
  severity: 'high',
  type: 'auth.brute_force',
  message: 'many failed logins',
  timestamp: '2025-06-01T08:29:00Z',
  attributes: { user: 'root', attempts: 31 },
};

function parse(body: string, options = {}) {
  return parseNativeEvents(Buffer.from(body), ctx, options);
}

function rejects(body: string, reason: ReasonCode, options = {}): ProtocolError {
  let caught: unknown;
  assert.throws(
    () => parse(body, options),
    (e: unknown) => {
      caught = e;
      return e instanceof ProtocolError && e.reason === reason;
    },
  );
  return caught as ProtocolError;
}

test('one JSON object becomes one native record', () => {
  const body = JSON.stringify({ ...base, event_id: '0F8FAD5B-D9CB-469F-A165-70867728950E' });
  const [e] = parse(body);
  assert.ok(e !== undefined);
  assert.deepEqual({ ...e, raw: e.raw.toString() }, {
    event_id: '0f8fad5bd9cb469fa16570867728950e',
    project_id: 3,
    timestamp_ms: Date.UTC(2025, 5, 1, 8, 29),
    received_at_ms: NOW,
    source: 'native',
    class: 'security',
    severity: 'high',
    type: 'auth.brute_force',
    message: 'many failed logins',
    exception_type: null,
    exception_value: null,
    platform: null,
    release: null,
    environment: null,
    tags: {},
    user: null,
    fingerprint: [],
    client_ip: '192.0.2.10',
    sdk_name: null,
    sdk_version: null,
    attributes: { user: 'root', attempts: 31 },
    raw: body,
  });
});

test('a JSON array: each record keeps its exact bytes', () => {
  const second = '{"class":"audit","severity":"info","type":"config.change","message":"a \\"quoted\\" ], {brace}","attributes":{}}';
  const body = `[ ${JSON.stringify(base)} ,\n  ${second}\n]`;
  const events = parse(body);
  assert.deepEqual(events.map((e) => e.class), ['security', 'audit']);
  assert.equal(events[0]?.raw.toString(), JSON.stringify(base));
  assert.equal(events[1]?.raw.toString(), second);
  assert.equal(events[1]?.message, 'a "quoted" ], {brace}');
});

test('NDJSON, detected or declared; blank lines and CRLF are fine', () => {
  const line = (type: string) => JSON.stringify({ ...base, type });
  const body = `${line('a')}\r\n\n${line('b')}\n${line('c')}`;
  for (const format of ['auto', 'ndjson'] as const) {
    const events = parse(body, { format });
    assert.deepEqual(events.map((e) => e.type), ['a', 'b', 'c']);
    assert.equal(events[1]?.raw.toString(), line('b'));
  }
  assert.equal(parse(line('single'), { format: 'ndjson' }).length, 1);
});

test('timestamps: RFC 3339, epoch seconds, epoch milliseconds; absent → receive time', () => {
  const at = Date.UTC(2025, 5, 1, 8, 0);
  const one = (timestamp: unknown) => parse(JSON.stringify({ ...base, timestamp }))[0]?.timestamp_ms;
  assert.equal(one('2025-06-01T10:00:00+02:00'), at);
  assert.equal(one(at / 1000), at);
  assert.equal(one(at), at);
  assert.equal(one(at / 1000 + 0.25), at + 250);
  assert.equal(parse(JSON.stringify({ class: 'network', severity: 'low', type: 'scan' }))[0]?.timestamp_ms, NOW);
  assert.equal(one(NOW / 1000 + 86400), NOW, 'far future becomes the receive time');
});

test('optional Sentry-like fields: tags, environment, release, fingerprint, user', () => {
  const [e] = parse(
    JSON.stringify({
      ...base,
      tags: { host: 'bastion-1', port: 22, blocked: true },
      environment: 'production',
      release: 'agent@3.1.0',
      fingerprint: ['ssh', 'root'],
      user: { id: 0, username: 'root', ip_address: '::ffff:198.51.100.23' },
    }),
  );
  assert.deepEqual(e?.tags, { host: 'bastion-1', port: '22', blocked: 'true' });
  assert.equal(e?.environment, 'production');
  assert.equal(e?.release, 'agent@3.1.0');
  assert.deepEqual(e?.fingerprint, ['ssh', 'root']);
  assert.deepEqual(e?.user, { id: '0', email: null, username: 'root', ip_address: '198.51.100.23' });
});

test('a bad record is named by index and field path', () => {
  const good = JSON.stringify(base);
  const error = rejects(`[${good}, ${good}, ${JSON.stringify({ ...base, severity: 'urgent' })}]`, 'invalid_native_event');
  assert.equal(error.status, 400);
  assert.deepEqual(error.details.issues?.map(({ record, field }) => ({ record, field })), [{ record: 2, field: 'severity' }]);
  assert.match(error.message, /event 2, field severity/);
  assert.deepEqual(error.toResponseBody().issues?.[0]?.record, 2);
});

test('nested paths, unknown fields and several bad records are all reported', () => {
  const bad = [
    { ...base, attributes: [1, 2] },
    { ...base, colour: 'red' },
    { ...base, user: { id: 'u', role: 'admin' } },
    { ...base, timestamp: 'last tuesday' },
    { ...base, event_id: 'xyz' },
    { severity: 'low', type: 't' },
    'not an object',
  ];
  const error = rejects(JSON.stringify(bad), 'invalid_native_event');
  assert.deepEqual(
    error.details.issues?.map(({ record, field }) => [record, field]),
    [
      [0, 'attributes'],
      [1, 'colour'],
      [2, 'user.role'],
      [3, 'timestamp'],
      [4, 'event_id'],
      [5, 'class'],
      [6, undefined],
    ],
  );
});

test('syntax errors, empty bodies and limits', () => {
  const e = rejects(`${JSON.stringify(base)}\n{"class":`, 'invalid_json');
  assert.match(e.message, /event 1 \(line 2\)/);
  rejects('{"class":', 'invalid_json');
  rejects('[{"class":"audit"},', 'invalid_json');
  rejects('', 'empty_body');
  rejects('[]', 'empty_body');
  rejects('\n\n', 'empty_body');
  const many = JSON.stringify(Array.from({ length: 3 }, () => base));
  assert.equal(rejects(many, 'payload_too_large', { maxRecords: 2 }).details.limit, 'records');
  const big = JSON.stringify({ ...base, message: 'x'.repeat(2000) });
  assert.equal(rejects(big, 'payload_too_large', { maxEventBytes: 1000 }).details.limit, 'record');
});

test('attributes stay the sender\'s own object, "__proto__" included as plain data', () => {
  const [e] = parse('{"class":"audit","severity":"info","type":"t","attributes":{"__proto__":{"polluted":true},"k":1}}');
  assert.equal(Object.getPrototypeOf(e?.attributes), Object.prototype);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.deepEqual(Object.keys(e?.attributes ?? {}), ['__proto__', 'k']);
});

test('any valid record is accepted in any framing', () => {
  const record = fc.record(
    {
      class: fc.constantFrom(...EVENT_CLASSES),
      severity: fc.constantFrom(...SEVERITIES),
      type: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim().length > 0),
      message: fc.option(fc.string(), { nil: null }),
      timestamp: fc.integer({ min: NOW - 86_400_000, max: NOW }),
      attributes: fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__'), fc.jsonValue({ maxDepth: 2 })),
    },
    { requiredKeys: ['class', 'severity', 'type'] },
  );
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 5 }), fc.constantFrom('array', 'ndjson'), (records, framing) => {
      const body = framing === 'array' ? JSON.stringify(records) : records.map((r) => JSON.stringify(r)).join('\n');
      const events = parse(body);
      assert.equal(events.length, records.length);
      events.forEach((e, i) => {
        const r = records[i] as (typeof records)[number];
        assert.equal(e.class, r.class);
        assert.equal(e.type, r.type.trim());
        assert.deepEqual(JSON.parse(e.raw.toString()), JSON.parse(JSON.stringify(r)));
        if (r.timestamp !== undefined) assert.equal(e.timestamp_ms, r.timestamp);
      });
    }),
  );
});
