import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { createAddressPolicy, type AddressVerdict } from './address-policy';
import { checkDestination, createSafeLookup, DestinationRefusedError, type HostResolver } from './destination';

const strict = createAddressPolicy();
const loopbackAllowed = createAddressPolicy({ allowCidrs: ['127.0.0.0/8'] });

test('only http and https URLs are accepted', () => {
  for (const url of ['ftp://example.com/hook', 'file:///etc/passwd', 'gopher://example.com/', 'javascript:alert(1)', 'data:text/plain,x', 'ws://example.com/']) {
    const result = checkDestination(url, strict);
    assert.equal(result.ok, false, url);
    if (!result.ok) assert.equal(result.error.errorClass, 'unsupported_scheme', url);
  }
  for (const url of ['not a url', '/relative/path', 'http://']) {
    const result = checkDestination(url, strict);
    assert.equal(!result.ok && result.error.errorClass, 'invalid_url', url);
  }
  const ok = checkDestination('https://hooks.example.com/vigil?x=1', strict);
  assert.equal(ok.ok, true);
  assert.equal(ok.ok && ok.address, undefined);
});

test('IP literals are judged from the URL, in every spelling the URL parser normalises', () => {
  const cases: [string, string][] = [
    ['http://10.0.0.1/', 'private'],
    ['http://169.254.169.254/latest/meta-data/', 'cloud_metadata'],
    ['http://[::1]/', 'loopback'],
    ['http://[::ffff:127.0.0.1]:8080/', 'ipv4_mapped'],
    ['http://0x7f.1/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://127.1/', 'loopback'],
    ['http://0/', 'unspecified'],
    ['https://[fd00:ec2::254]/', 'cloud_metadata'],
    ['http://[64:ff9b::a9fe:a9fe]/', 'cloud_metadata'],
  ];
  for (const [url, reason] of cases) {
    const result = checkDestination(url, strict);
    assert.equal(result.ok, false, url);
    if (!result.ok) {
      assert.equal(result.error.errorClass, 'ssrf_refused', url);
      assert.equal(result.error.verdict?.reason, reason, url);
    }
  }
  const allowed = checkDestination('http://127.0.0.1:9/', loopbackAllowed);
  assert.deepEqual(allowed.ok && allowed.address, '127.0.0.1');
});

/** Calls a lookup function the way node:net does and returns what it produced. */
function runLookup(lookup: ReturnType<typeof createSafeLookup>, hostname: string, options: { all?: boolean; family?: number } = {}) {
  return new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) =>
    lookup(hostname, options, (error, address, family) => resolve({ error, address, family })),
  );
}
const answers =
  (map: Record<string, string[]>): HostResolver =>
  async (hostname) =>
    (map[hostname] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

test('the lookup hands back checked addresses only, in the form node:net asks for', async () => {
  const lookup = createSafeLookup(strict, { resolve: answers({ 'hooks.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'] }) });
  assert.deepEqual(await runLookup(lookup, 'hooks.example'), { error: null, address: '93.184.215.14', family: 4 });
  assert.deepEqual(await runLookup(lookup, 'hooks.example', { all: true }), {
    error: null,
    address: [
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ],
    family: undefined,
  });
  assert.deepEqual(await runLookup(lookup, 'hooks.example', { family: 6 }), {
    error: null,
    address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c',
    family: 6,
  });
});

test('a host with any refused address is refused as a whole', async () => {
  const seen: [string, readonly AddressVerdict[]][] = [];
  const lookup = createSafeLookup(strict, {
    resolve: answers({ 'mixed.example': ['93.184.215.14', '10.0.0.7'], 'meta.example': ['169.254.169.254'] }),
    onResolved: (hostname, verdicts) => seen.push([hostname, verdicts]),
  });
  const mixed = await runLookup(lookup, 'mixed.example', { all: true });
  assert.ok(mixed.error instanceof DestinationRefusedError);
  assert.equal((mixed.error as DestinationRefusedError).errorClass, 'ssrf_refused');
  assert.match(mixed.error.message, /mixed\.example resolves to 10\.0\.0\.7, which is private/);
  const meta = await runLookup(lookup, 'meta.example');
  assert.match(String(meta.error?.message), /cloud metadata/);
  assert.deepEqual(seen.map(([hostname, verdicts]) => [hostname, verdicts.map((verdict) => verdict.allowed)]), [
    ['mixed.example', [true, false]],
    ['meta.example', [false]],
  ]);
});

test('resolution failures pass through as DNS errors; an empty or wrong-family answer is ENOTFOUND', async () => {
  const failing: HostResolver = async () => {
    throw Object.assign(new Error('getaddrinfo EAI_AGAIN flaky.example'), { code: 'EAI_AGAIN' });
  };
  assert.equal((await runLookup(createSafeLookup(strict, { resolve: failing }), 'flaky.example')).error?.code, 'EAI_AGAIN');
  const lookup = createSafeLookup(strict, { resolve: answers({ 'v4.example': ['93.184.215.14'] }) });
  assert.equal((await runLookup(lookup, 'nothing.example')).error?.code, 'ENOTFOUND');
  assert.equal((await runLookup(lookup, 'v4.example', { family: 6 })).error?.code, 'ENOTFOUND');
});

test('IP literals given to the lookup are checked without resolving', async () => {
  let resolved = 0;
  const lookup = createSafeLookup(strict, {
    resolve: async () => {
      resolved += 1;
      return [];
    },
  });
  assert.ok((await runLookup(lookup, '127.0.0.1')).error instanceof DestinationRefusedError);
  assert.ok((await runLookup(lookup, '[::1]')).error instanceof DestinationRefusedError);
  assert.deepEqual(await runLookup(lookup, '8.8.8.8'), { error: null, address: '8.8.8.8', family: 4 });
  assert.equal(resolved, 0);
});

test('DNS rebinding: the connection goes to the address that was checked, and a later answer is checked afresh', async () => {
  const connections: string[] = [];
  const server = http.createServer((_, res) => res.end('ok'));
  server.on('connection', (socket) => connections.push(String(socket.remoteAddress)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    // The attacker's name answers with an allowed address first, then with an internal one.
    const sequence = [['127.0.0.1'], ['10.0.0.1']];
    let calls = 0;
    const lookup = createSafeLookup(loopbackAllowed, {
      resolve: async () => {
        const next = sequence[Math.min(calls, sequence.length - 1)] ?? [];
        calls += 1;
        return next.map((address) => ({ address, family: 4 }));
      },
    });
    const get = () =>
      new Promise<{ status?: number; remote?: string; error?: Error }>((resolve) => {
        const request = http.get({ hostname: 'rebind.example', port, lookup, agent: false }, (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, remote: String(request.socket?.remoteAddress) });
        });
        request.on('error', (error) => resolve({ error }));
      });
    assert.deepEqual(await get(), { status: 200, remote: '127.0.0.1' });
    assert.equal(calls, 1, 'resolved exactly once for one connection');
    const second = await get();
    assert.ok(second.error instanceof DestinationRefusedError, 'the rebound answer is refused');
    assert.equal(calls, 2);
    assert.deepEqual(connections, ['127.0.0.1'], 'no connection was made for the refused answer');
  } finally {
    server.close();
  }
});
