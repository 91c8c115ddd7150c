import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { createAddressPolicy } from '../egress/address-policy';
import { createWebhookAgents } from '../egress/connection-pool';
import { messageId } from '../signing/message-id';
import { postWebhook, type PostWebhookOptions } from './post-webhook';
import { generateSecret } from '../signing/secret';
import { buildWebhookHeaders, serializePayload } from '../signing/webhook-request';

const loopback = createAddressPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] });
const strict = createAddressPolicy();

interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** A receiver on 127.0.0.1 whose behaviour each test sets; records requests and connections. */
class Receiver {
  readonly received: Received[] = [];
  connections = 0;
  handler: Handler = (_, res) => res.end('ok');
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      this.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      this.handler(req, res, body);
    });
  });
  constructor() {
    this.server.on('connection', () => (this.connections += 1));
  }
  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/vigil`;
  }
  reset(handler: Handler): void {
    this.received.length = 0;
    this.connections = 0;
    this.handler = handler;
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const receiver = new Receiver();
const elsewhere = new Receiver(); // the target of redirects, which must never be reached
before(async () => {
  await receiver.start();
  await elsewhere.start();
});
after(async () => {
  await receiver.stop();
  await elsewhere.stop();
});

const post = (overrides: Partial<PostWebhookOptions> = {}) =>
  postWebhook({ url: receiver.url, headers: { 'content-type': 'application/json' }, body: '{"type":"webhook.test"}', policy: loopback, ...overrides });

test('200: delivered with the request intact, and the receiver verifies it with standardwebhooks and svix during rotation', async () => {
  const [current, previous] = [generateSecret(), generateSecret()];
  const body = serializePayload('alert.created', new Date('2025-01-01T00:00:00Z'), { id: 'al_1', severity: 'high' });
  const id = messageId('al_1', 'ep_1');
  const headers = buildWebhookHeaders({ id, body, secrets: [current, previous], userAgent: 'Vigil/0.1.0', customHeaders: { 'X-Team': 'blue' } });
  receiver.reset((_, res) => {
    res.setHeader('x-request-id', 'r-1');
    res.setHeader('set-cookie', 'not kept');
    res.end('thanks');
  });
  const attempt = await post({ body, headers });
  assert.deepEqual(attempt.outcome, { action: 'delivered', errorClass: null });
  assert.equal(attempt.status, 200);
  assert.equal(attempt.body, 'thanks');
  assert.equal(attempt.bodyTruncated, false);
  assert.equal(attempt.error, null);
  assert.equal(attempt.remoteAddress, '127.0.0.1');
  assert.equal(attempt.headers['x-request-id'], 'r-1');
  assert.equal(attempt.headers['set-cookie'], undefined);
  assert.ok(attempt.durationMs > 0 && attempt.durationMs < 2000);

  const [request] = receiver.received;
  assert.ok(request);
  assert.equal(request.method, 'POST');
  assert.equal(request.url, '/hooks/vigil');
  assert.equal(request.body, body);
  assert.equal(request.headers['webhook-id'], id);
  assert.equal(request.headers['user-agent'], 'Vigil/0.1.0');
  assert.equal(request.headers['content-type'], 'application/json');
  assert.equal(request.headers['x-team'], 'blue');
  const received = request.headers as Record<string, string>;
  for (const secret of [current, previous]) {
    assert.deepEqual(new StandardWebhook(secret).verify(request.body, received), JSON.parse(body));
    assert.deepEqual(new SvixWebhook(secret).verify(request.body, received), JSON.parse(body));
  }
});

test('500 → retry (http_server_error); 410 → disable endpoint; 429 with Retry-After: 2 → retry no sooner than 2 s', async () => {
  receiver.reset((_, res) => res.writeHead(500).end('boom'));
  const failed = await post();
  assert.equal(failed.status, 500);
  assert.deepEqual(failed.outcome, { action: 'retry', errorClass: 'http_server_error' });
  assert.equal(failed.body, 'boom');
  assert.equal(failed.error, 'HTTP 500');

  receiver.reset((_, res) => res.writeHead(410).end());
  assert.deepEqual((await post()).outcome, { action: 'disable_endpoint', errorClass: 'http_gone' });

  receiver.reset((_, res) => res.writeHead(429, { 'retry-after': '2' }).end());
  const limited = await post();
  assert.deepEqual(limited.outcome, { action: 'retry', errorClass: 'http_rate_limited', retryAfterMs: 2000 });
  assert.equal(limited.headers['retry-after'], '2');

  receiver.reset((_, res) => res.writeHead(503, { 'retry-after': '999999' }).end());
  assert.deepEqual((await post({ retryAfter: { max: '10m' } })).outcome, {
    action: 'retry',
    errorClass: 'http_unavailable',
    retryAfterMs: 600_000,
  });
});

test('302 is a failure and is not followed, even to a reachable address', async () => {
  for (const location of [elsewhere.url, 'http://169.254.169.254/latest/meta-data/']) {
    receiver.reset((_, res) => res.writeHead(302, { location }).end());
    elsewhere.reset((_, res) => res.end('should not be here'));
    const attempt = await post();
    assert.equal(attempt.status, 302);
    assert.deepEqual(attempt.outcome, { action: 'retry', errorClass: 'http_redirect' });
    assert.equal(attempt.headers.location, location);
    assert.equal(elsewhere.connections, 0);
    assert.equal(receiver.received.length, 1);
  }
});

test('a server that never answers → total_timeout, at the total timeout', async () => {
  receiver.reset(() => {
    /* never respond */
  });
  const attempt = await post({ timeouts: { totalMs: 300 } });
  assert.equal(attempt.status, null);
  assert.deepEqual(attempt.outcome, { action: 'retry', errorClass: 'total_timeout' });
  assert.ok(attempt.durationMs >= 290 && attempt.durationMs < 1500, String(attempt.durationMs));
  assert.equal(attempt.remoteAddress, '127.0.0.1');
});

test('headers in time but a body that never ends: the status decides and the body is cut at the total timeout', async () => {
  receiver.reset((_, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
  });
  const attempt = await post({ timeouts: { totalMs: 300 } });
  assert.deepEqual(attempt.outcome, { action: 'delivered', errorClass: null });
  assert.equal(attempt.body, 'partial');
  assert.equal(attempt.bodyTruncated, true);
  assert.ok(attempt.durationMs < 1500);
});

test('slow name resolution counts against the connect timeout → connect_timeout', async () => {
  receiver.reset((_, res) => res.end());
  const attempt = await post({
    url: `http://slow-dns.example:${receiver.port}/`,
    timeouts: { connectMs: 150, totalMs: 5000 },
    resolve: () => new Promise((resolve) => setTimeout(() => resolve([{ address: '127.0.0.1', family: 4 }]), 1000)),
  });
  assert.deepEqual(attempt.outcome, { action: 'retry', errorClass: 'connect_timeout' });
  assert.ok(attempt.durationMs >= 140 && attempt.durationMs < 900, String(attempt.durationMs));
  assert.equal(receiver.connections, 0);
});

test('a TLS handshake that never completes → connect_timeout; TLS against a plain HTTP server → tls_error', async () => {
  const silent = net.createServer(() => {
    /* accept TCP, never speak TLS */
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = silent.address() as AddressInfo;
    const stalled = await post({ url: `https://127.0.0.1:${port}/`, timeouts: { connectMs: 200, totalMs: 5000 } });
    assert.deepEqual(stalled.outcome, { action: 'retry', errorClass: 'connect_timeout' });
    assert.ok(stalled.durationMs < 1500);
  } finally {
    silent.close();
  }
  receiver.reset((_, res) => res.end());
  const plain = await post({ url: `https://127.0.0.1:${receiver.port}/` });
  assert.deepEqual(plain.outcome, { action: 'retry', errorClass: 'tls_error' });
});

test('the response body is read only up to the limit (4 KiB by default)', async () => {
  const big = 'x'.repeat(5 * 1024 * 1024);
  receiver.reset((_, res) => res.writeHead(500).end(big));
  const attempt = await post();
  assert.equal(attempt.status, 500);
  assert.equal(Buffer.byteLength(attempt.body), 4096);
  assert.equal(attempt.bodyTruncated, true);
  assert.deepEqual(attempt.outcome, { action: 'retry', errorClass: 'http_server_error' });

  receiver.reset((_, res) => res.end('y'.repeat(4096)));
  const exact = await post();
  assert.equal(exact.body.length, 4096);
  assert.equal(exact.bodyTruncated, false);

  receiver.reset((_, res) => res.end('z'.repeat(100)));
  const small = await post({ maxResponseBytes: 10 });
  assert.deepEqual([small.body, small.bodyTruncated], ['z'.repeat(10), true]);
});

test('refused destinations are refused before any connection', async () => {
  receiver.reset((_, res) => res.end());
  const urls = [
    'http://10.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://localhost/',
    `http://localhost:${receiver.port}/`, // resolves to loopback, where the receiver listens
    `http://127.0.0.1:${receiver.port}/`,
  ];
  for (const url of urls) {
    const attempt = await post({ url, policy: strict });
    assert.equal(attempt.status, null, url);
    assert.deepEqual(attempt.outcome, { action: 'fail', errorClass: 'ssrf_refused' }, url);
    assert.match(String(attempt.error), /refused/, url);
    assert.equal(attempt.remoteAddress, null, url);
  }
  assert.equal(receiver.connections, 0);
  for (const url of ['ftp://127.0.0.1/', 'file:///etc/passwd']) {
    assert.deepEqual((await post({ url, policy: loopback })).outcome, { action: 'fail', errorClass: 'unsupported_scheme' }, url);
  }
  assert.deepEqual((await post({ url: 'http//missing-colon' })).outcome, { action: 'fail', errorClass: 'invalid_url' });
});

test('with 127.0.0.0/8 allow-listed, 127.0.0.1 and a name resolving to it are delivered', async () => {
  receiver.reset((_, res) => res.writeHead(204).end());
  const allowOnlyV4 = createAddressPolicy({ allowCidrs: ['127.0.0.0/8'] });
  assert.equal((await post({ policy: allowOnlyV4 })).status, 204);
  const named = await post({
    url: `http://hooks.customer.example:${receiver.port}/in?tenant=7`,
    policy: allowOnlyV4,
    resolve: async () => [{ address: '127.0.0.1', family: 4 }],
  });
  assert.deepEqual(named.outcome, { action: 'delivered', errorClass: null });
  assert.equal(receiver.received.at(-1)?.url, '/in?tenant=7');
  assert.equal(receiver.received.at(-1)?.headers.host, `hooks.customer.example:${receiver.port}`);
});

test('network errors: refused connection and reset connection', async () => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  assert.deepEqual((await post({ url: `http://127.0.0.1:${port}/` })).outcome, { action: 'retry', errorClass: 'connection_refused' });

  receiver.reset((req) => req.socket.destroy());
  assert.deepEqual((await post()).outcome, { action: 'retry', errorClass: 'connection_reset' });
});

test('length and host come from the request itself; invalid custom headers fail the attempt without sending', async () => {
  receiver.reset((_, res) => res.end());
  await post({ headers: { 'Content-Length': '1', Host: 'internal.example', 'x-ok': 'yes' }, body: 'héllo' });
  const request = receiver.received.at(-1);
  assert.equal(request?.body, 'héllo');
  assert.equal(request?.headers['content-length'], String(Buffer.byteLength('héllo')));
  assert.equal(request?.headers.host, `127.0.0.1:${receiver.port}`);

  receiver.reset((_, res) => res.end());
  const bad = await post({ headers: { 'x-bad': 'line\r\nbreak' } });
  assert.deepEqual(bad.outcome, { action: 'fail', errorClass: 'invalid_request' });
  assert.equal(receiver.connections, 0);
});

test('credentials in the URL become basic authentication', async () => {
  receiver.reset((_, res) => res.end());
  await post({ url: `http://hook%40user:p%3Ass@127.0.0.1:${receiver.port}/` });
  const auth = receiver.received.at(-1)?.headers.authorization;
  assert.equal(auth, `Basic ${Buffer.from('hook@user:p:ss').toString('base64')}`);
});

test('keep-alive agents reuse checked connections and must match the policy', async () => {
  const agents = createWebhookAgents(loopback);
  try {
    receiver.reset((_, res) => res.end('ok'));
    for (let i = 0; i < 3; i += 1) {
      assert.equal((await post({ agents })).status, 200);
    }
    assert.equal(receiver.connections, 1);
    // The agents still refuse names that resolve to refused addresses.
    const strictAgents = createWebhookAgents(strict);
    const refused = await post({ url: `http://localhost:${receiver.port}/`, policy: strict, agents: strictAgents });
    assert.deepEqual(refused.outcome, { action: 'fail', errorClass: 'ssrf_refused' });
    strictAgents.destroy();
    assert.throws(() => post({ agents, policy: strict }), TypeError);
  } finally {
    agents.destroy();
  }
});
