import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatDsn, parseDsn, parseProjectId } from './dsn';
import { ProtocolError } from '../outcomes/protocol-error';

test('parses the DSN forms SDKs are configured with', () => {
  assert.deepEqual(parseDsn('https://0123456789abcdef0123456789abcdef@vigil.example.com/42'), {
    scheme: 'https',
    publicKey: '0123456789abcdef0123456789abcdef',
    secretKey: null,
    host: 'vigil.example.com',
    port: null,
    path: '',
    projectId: 42,
  });
  assert.deepEqual(parseDsn('http://pub:legacysecret@127.0.0.1:8030/sentry/7/'), {
    scheme: 'http',
    publicKey: 'pub',
    secretKey: 'legacysecret',
    host: '127.0.0.1',
    port: 8030,
    path: '/sentry',
    projectId: 7,
  });
  const v6 = parseDsn('http://k@[::1]:9000/3');
  assert.equal(v6.host, '[::1]');
  assert.equal(v6.port, 9000);
});

test('formats back to what SDKs expect, without the legacy secret', () => {
  assert.equal(formatDsn(parseDsn('http://pub:secret@127.0.0.1:8030/sentry/7')), 'http://pub@127.0.0.1:8030/sentry/7');
  assert.equal(
    formatDsn({ scheme: 'https', publicKey: 'abc', host: 'h.example', port: null, path: '', projectId: 1 }),
    'https://abc@h.example/1',
  );
});

test('rejects malformed DSNs with invalid_auth', () => {
  for (const bad of [
    'not a url',
    'ftp://k@h/1',
    'https://h/1',
    'https://k@h/',
    'https://k@h/abc',
    'https://k@h/0',
    'https://k@h/1?x=1',
    'https://k%20y@h/1',
    'https://k@h/99999999999999999999',
  ]) {
    assert.throws(() => parseDsn(bad), (e: unknown) => e instanceof ProtocolError && e.reason === 'invalid_auth', bad);
  }
});

test('project ids are positive safe integers written in plain digits', () => {
  assert.equal(parseProjectId('42'), 42);
  for (const bad of ['0', '-1', '01', '1e3', '4.2', '', ' 1', '9007199254740993']) assert.equal(parseProjectId(bad), null, bad);
});

test('format → parse round-trips', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('http', 'https') as fc.Arbitrary<'http' | 'https'>,
      fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      fc.constantFrom('localhost', '127.0.0.1', 'vigil.example.com', '[::1]'),
      fc.option(fc.integer({ min: 1, max: 65535 }).filter((p) => p !== 80 && p !== 443), { nil: null }),
      fc.constantFrom('', '/sentry', '/a/b'),
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      (scheme, publicKey, host, port, path, projectId) => {
        const dsn = { scheme, publicKey, secretKey: null, host, port, path, projectId };
        assert.deepEqual(parseDsn(formatDsn(dsn)), dsn);
      },
    ),
  );
});
