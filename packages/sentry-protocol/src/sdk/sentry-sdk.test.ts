/**
 * The real `@sentry/node` SDK sends to a local HTTP server; what it posts must authenticate,
 * decode, parse and normalize into the records below. Set VIGIL_UPDATE_FIXTURES=1 to refresh the
 * captured envelope in ./fixtures used by the fast fixture test.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import * as Sentry from '@sentry/node';
import {
  extractAuth,
  normalizeSentryEvent,
  parseEnvelope,
  parseProjectId,
  readBody,
  type Envelope,
  type NormalizedEvent,
  type SentryAuth,
} from '../index';

const KEY = '0123456789abcdef0123456789abcdef';
const PROJECT = 42;
const sdkVersion = (createRequire(import.meta.url)('@sentry/node/package.json') as { version: string }).version;

interface Captured {
  url: string;
  headers: http.IncomingHttpHeaders;
  contentEncoding: string | null;
  compressed: Buffer;
  body: Buffer;
  auth: SentryAuth;
  envelope: Envelope;
  events: NormalizedEvent[];
  receivedAtMs: number;
}

const captured: Captured[] = [];
let server: http.Server;
const ids: Record<string, string> = {};
let startedAt = 0;
let finishedAt = 0;

before(async () => {
  server = http.createServer((req, res) => {
    void handle(req).then(
      () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      },
      (error: unknown) => {
        res.writeHead(400);
        res.end(String(error));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  startedAt = Date.now();
  Sentry.init({
    dsn: `http://${KEY}@127.0.0.1:${port}/${PROJECT}`,
    release: 'vigil-test@1.2.3',
    environment: 'staging',
  });
  Sentry.setUser({ id: 'u-17', email: 'ada@example.com', username: 'ada', ip_address: '{{auto}}' });
  Sentry.setTag('vigil.class', 'security');
  Sentry.setTag('component', 'login');
  ids['exception'] = Sentry.captureException(new TypeError('token signature mismatch'));
  Sentry.withScope((scope) => {
    scope.setFingerprint(['login', 'failed']);
    scope.setTag('attempts', '3');
    ids['message'] = Sentry.captureMessage('login failed for ada', 'warning');
  });
  // Over 32 KiB, so the SDK's transport gzips the envelope.
  Sentry.withScope((scope) => {
    scope.setExtra('payload', 'x'.repeat(40_000));
    ids['large'] = Sentry.captureMessage('large diagnostic dump', 'debug');
  });
  await Sentry.flush(5000);
  await Sentry.close(5000);
  finishedAt = Date.now();
});

after(() => {
  server.close();
  if (process.env['VIGIL_UPDATE_FIXTURES'] === '1') writeFixture();
});

async function handle(req: http.IncomingMessage): Promise<void> {
  const receivedAtMs = Date.now();
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = /^\/api\/([^/]+)\/envelope\/$/.exec(url.pathname);
  assert.ok(match, `unexpected path ${url.pathname}`);
  const projectId = parseProjectId(match[1] as string);
  assert.equal(projectId, PROJECT);

  const compressedChunks: Buffer[] = [];
  const recorder = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      compressedChunks.push(chunk);
      callback(null, chunk);
    },
  });
  const contentEncoding = req.headers['content-encoding'] ?? null;
  // The request stream itself goes through the bounded decoder.
  const body = await readBody(req.pipe(recorder), { contentEncoding, maxDecompressedBytes: 20 * 1024 * 1024 });
  const envelope = parseEnvelope(body);
  const auth = extractAuth({ projectId: projectId as number, headers: req.headers, query: url.search, envelopeDsn: envelope.header.dsn });
  const events = envelope.items
    .filter((item) => item.type === 'event' || item.type === 'transaction')
    .map((item) =>
      normalizeSentryEvent(item.payload, {
        projectId: auth.projectId,
        receivedAtMs,
        clientIp: req.socket.remoteAddress ?? null,
        itemType: item.type,
        envelope: envelope.header,
        auth,
      }),
    );
  captured.push({
    url: req.url ?? '',
    headers: req.headers,
    contentEncoding,
    compressed: Buffer.concat(compressedChunks),
    body,
    auth,
    envelope,
    events,
    receivedAtMs,
  });
}

function eventById(id: string | undefined): { event: NormalizedEvent; request: Captured } {
  for (const request of captured) {
    for (const event of request.events) if (event.event_id === id) return { event, request };
  }
  assert.fail(`event ${id} was not received`);
}

test('the SDK authenticates with the sentry_key query credential', () => {
  assert.ok(captured.length >= 3);
  for (const request of captured) {
    assert.equal(request.auth.publicKey, KEY);
    assert.equal(request.auth.source, 'query');
    assert.equal(request.auth.version, 7);
    assert.equal(request.auth.client, `sentry.javascript.node/${sdkVersion}`);
  }
});

test('captureException becomes an error record with the exception, tags and user', () => {
  const { event, request } = eventById(ids['exception']);
  assert.equal(request.envelope.header.event_id, ids['exception']);
  assert.ok(event.timestamp_ms >= startedAt - 1000 && event.timestamp_ms <= finishedAt + 1000);
  assert.ok(event.timestamp_ms <= event.received_at_ms);
  assert.deepEqual(
    { ...event, raw: undefined, attributes: undefined, timestamp_ms: undefined },
    {
      event_id: ids['exception'],
      project_id: PROJECT,
      timestamp_ms: undefined,
      received_at_ms: request.receivedAtMs,
      source: 'sentry',
      class: 'security',
      severity: 'high',
      type: 'error',
      message: 'token signature mismatch',
      exception_type: 'TypeError',
      exception_value: 'token signature mismatch',
      platform: 'node',
      release: 'vigil-test@1.2.3',
      environment: 'staging',
      tags: { 'vigil.class': 'security', component: 'login' },
      user: { id: 'u-17', email: 'ada@example.com', username: 'ada', ip_address: '127.0.0.1' },
      fingerprint: [],
      client_ip: '127.0.0.1',
      sdk_name: 'sentry.javascript.node',
      sdk_version: sdkVersion,
      attributes: undefined,
      raw: undefined,
    },
  );
  const contexts = event.attributes['contexts'] as Record<string, Record<string, unknown>>;
  assert.equal(contexts['runtime']?.['name'], 'node');
  const raw = JSON.parse(event.raw.toString('utf8')) as Record<string, unknown>;
  assert.equal(raw['event_id'], ids['exception']);
});

test('captureMessage becomes a default record with level, fingerprint and scope tags', () => {
  const { event } = eventById(ids['message']);
  assert.equal(event.type, 'default');
  assert.equal(event.severity, 'medium');
  assert.equal(event.class, 'security');
  assert.equal(event.message, 'login failed for ada');
  assert.equal(event.exception_type, null);
  assert.equal(event.exception_value, null);
  assert.deepEqual(event.fingerprint, ['login', 'failed']);
  assert.deepEqual(event.tags, { 'vigil.class': 'security', component: 'login', attempts: '3' });
  assert.equal(event.user?.ip_address, '127.0.0.1');
});

test('a large envelope arrives gzipped and decodes to the same kind of record', () => {
  const { event, request } = eventById(ids['large']);
  assert.equal(request.contentEncoding, 'gzip');
  assert.ok(request.compressed.length < request.body.length);
  assert.ok(request.body.length > 40_000);
  assert.equal(event.severity, 'info');
  assert.equal(event.message, 'large diagnostic dump');
});

test('session items are parsed as known, non-event items', () => {
  const sessions = captured.flatMap((request) => request.envelope.items).filter((item) => item.category === 'session');
  assert.ok(sessions.length >= 1);
  for (const item of sessions) {
    assert.equal(item.known, true);
    assert.ok(['session', 'sessions'].includes(item.type));
    assert.equal(typeof JSON.parse(item.payload.toString('utf8')), 'object');
  }
});

function writeFixture(): void {
  const { request } = eventById(ids['exception']);
  const dir = new URL('./fixtures/', import.meta.url);
  writeFileSync(new URL('node-sdk-exception.envelope', dir), request.body);
  const meta = {
    url: request.url,
    headers: request.headers,
    client_ip: '127.0.0.1',
    received_at_ms: request.receivedAtMs,
    event_id: ids['exception'],
    sdk_version: sdkVersion,
  };
  writeFileSync(new URL('node-sdk-exception.request.json', dir), `${JSON.stringify(meta, null, 2)}\n`);
}
