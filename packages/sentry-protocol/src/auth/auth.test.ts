import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkEnvelopeDsn, extractAuth, type AuthRequest } from './auth';
import { ProtocolError } from '../outcomes/protocol-error';
import type { ReasonCode } from '../outcomes/outcomes';

const KEY = 'e12d836b15bb49d7bbf99e64295d995b';
const OTHER = 'ffffffffffffffffffffffffffffffff';

function rejects(request: AuthRequest, reason: ReasonCode): void {
  assert.throws(
    () => extractAuth(request),
    (e: unknown) => e instanceof ProtocolError && e.reason === reason,
    `expected ${reason}`,
  );
}

test('X-Sentry-Auth header', () => {
  const auth = extractAuth({
    projectId: 42,
    headers: { 'x-sentry-auth': `Sentry sentry_key=${KEY}, sentry_version=7, sentry_client=raven-python/6.10.0` },
  });
  assert.deepEqual(auth, { publicKey: KEY, source: 'x-sentry-auth', projectId: 42, version: 7, client: 'raven-python/6.10.0' });
});

test('Authorization: Sentry header (scheme is case-insensitive, spaces and quotes tolerated)', () => {
  const auth = extractAuth({ projectId: 1, headers: { authorization: `sentry sentry_key = "${KEY}" ,sentry_version=7.0` } });
  assert.equal(auth.publicKey, KEY);
  assert.equal(auth.source, 'authorization');
  assert.equal(auth.version, 7);
  assert.equal(auth.client, null);
});

test('non-Sentry Authorization schemes are not credentials', () => {
  rejects({ projectId: 1, headers: { authorization: 'Bearer vgl_abc' } }, 'missing_auth');
  const auth = extractAuth({ projectId: 1, headers: { authorization: 'Bearer vgl_abc' }, query: `sentry_key=${KEY}` });
  assert.equal(auth.source, 'query');
});

test('sentry_key query parameter, with or without the leading ?', () => {
  for (const query of [`?sentry_version=7&sentry_key=${KEY}&sentry_client=sentry.javascript.browser%2F9.0.0`, `sentry_key=${KEY}`]) {
    const auth = extractAuth({ projectId: 5, headers: {}, query });
    assert.equal(auth.publicKey, KEY);
    assert.equal(auth.source, 'query');
  }
  assert.equal(extractAuth({ projectId: 5, headers: {}, query: `?sentry_key=${KEY}&sentry_client=a%2F1` }).client, 'a/1');
  // Unrelated parameters are not a credential.
  rejects({ projectId: 5, headers: {}, query: '?foo=bar' }, 'missing_auth');
});

test('envelope header DSN authenticates when nothing else does', () => {
  const auth = extractAuth({ projectId: 42, headers: {}, envelopeDsn: `https://${KEY}@o1.ingest.example/42` });
  assert.deepEqual(auth, { publicKey: KEY, source: 'envelope_dsn', projectId: 42, version: 7, client: null });
});

test('envelope DSN with the same key as the request credential is one credential', () => {
  const auth = extractAuth({ projectId: 42, headers: {}, query: `sentry_key=${KEY}`, envelopeDsn: `https://${KEY}@h/42` });
  assert.equal(auth.source, 'query');
});

test('no credential → missing_auth', () => {
  rejects({ projectId: 1, headers: {} }, 'missing_auth');
  rejects({ projectId: 1, headers: {}, query: '', envelopeDsn: null }, 'missing_auth');
});

test('two request-level sources → multiple_auth, even with the same key (as Relay)', () => {
  const header = `Sentry sentry_key=${KEY}`;
  rejects({ projectId: 1, headers: { 'x-sentry-auth': header, authorization: header } }, 'multiple_auth');
  rejects({ projectId: 1, headers: { 'x-sentry-auth': header }, query: `sentry_key=${KEY}` }, 'multiple_auth');
  rejects({ projectId: 1, headers: { authorization: header }, query: `sentry_key=${KEY}` }, 'multiple_auth');
  rejects({ projectId: 1, headers: { 'x-sentry-auth': [header, header] } }, 'multiple_auth');
  // Any sentry_* query parameter makes the query a credential source.
  rejects({ projectId: 1, headers: { 'x-sentry-auth': header }, query: 'sentry_version=7' }, 'multiple_auth');
  rejects({ projectId: 1, headers: {}, query: `sentry_key=${KEY}&sentry_key=${OTHER}` }, 'multiple_auth');
});

test('envelope DSN naming another key → multiple_auth; another project → project_id_mismatch', () => {
  rejects({ projectId: 42, headers: {}, query: `sentry_key=${KEY}`, envelopeDsn: `https://${OTHER}@h/42` }, 'multiple_auth');
  rejects({ projectId: 42, headers: {}, envelopeDsn: `https://${KEY}@h/43` }, 'project_id_mismatch');
  rejects({ projectId: 42, headers: {}, query: `sentry_key=${KEY}`, envelopeDsn: `https://${KEY}@h/43` }, 'project_id_mismatch');
});

test('malformed credentials → invalid_auth', () => {
  rejects({ projectId: 1, headers: { 'x-sentry-auth': 'Sentry sentry_version=7' } }, 'invalid_auth');
  rejects({ projectId: 1, headers: { 'x-sentry-auth': 'Sentry sentry_key=' } }, 'invalid_auth');
  rejects({ projectId: 1, headers: { 'x-sentry-auth': 'Sentry sentry_key=has space' } }, 'invalid_auth');
  rejects({ projectId: 1, headers: { 'x-sentry-auth': `Sentry sentry_key=${KEY}, sentry_version=seven` } }, 'invalid_auth');
  rejects({ projectId: 1, headers: {}, query: 'sentry_version=7' }, 'invalid_auth');
  rejects({ projectId: 1, headers: {}, envelopeDsn: 'not a dsn' }, 'invalid_auth');
});

test('protocol versions above 7 are refused', () => {
  rejects({ projectId: 1, headers: { 'x-sentry-auth': `Sentry sentry_key=${KEY}, sentry_version=8` } }, 'unsupported_protocol_version');
  assert.equal(extractAuth({ projectId: 1, headers: {}, query: `sentry_key=${KEY}&sentry_version=5` }).version, 5);
});

test('whatever single header form is used, the key comes back', () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/),
      fc.constantFrom('x-sentry-auth', 'authorization'),
      fc.constantFrom('Sentry', 'sentry', 'SENTRY'),
      fc.shuffledSubarray(['sentry_version=7', 'sentry_client=x/1', 'sentry_timestamp=1', 'sentry_secret=s']),
      (key, header, scheme, extra) => {
        const items = [...extra, `sentry_key=${key}`].join(', ');
        const auth = extractAuth({ projectId: 9, headers: { [header]: `${scheme} ${items}` } });
        assert.equal(auth.publicKey, key);
        assert.equal(auth.source, header);
      },
    ),
  );
});

test('checkEnvelopeDsn answers as extractAuth with the DSN does, for a credential already extracted', () => {
  const auth = extractAuth({ projectId: 42, headers: {}, query: `sentry_key=${KEY}` });
  const outcome = (f: () => unknown): string => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return e instanceof ProtocolError ? e.reason : 'other';
    }
  };
  // Twice each: the second time the DSN comes from the cache of parsed DSNs.
  for (const dsn of [`https://${KEY}@h/42`, `https://${OTHER}@h/42`, `https://${KEY}@h/43`, 'not a dsn', `https://${KEY}@h/42`, `https://${KEY}@h/43`]) {
    const both = outcome(() => extractAuth({ projectId: 42, headers: {}, query: `sentry_key=${KEY}`, envelopeDsn: dsn }));
    assert.equal(outcome(() => checkEnvelopeDsn(auth, dsn, 42)), both, dsn);
  }
});
