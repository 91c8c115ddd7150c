import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiHarness, assertError, assertOk } from '../../testing/api-harness';

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start();
});
after(async () => h.stop());

test('create returns the token once; list and get never show it', async () => {
  const { token: admin } = await h.tenant();
  const created = await h.post('/v1/tokens', { name: 'ci', scopes: ['event:read', 'org:read'], rate_limit_per_minute: 90 }, { token: admin });
  assertOk(created, 201);
  const t = created.body.data;
  assert.match(t.token, /^vgl_[0-9A-Za-z]{43}$/);
  assert.equal(t.prefix, t.token.slice(0, 12));
  assert.deepEqual(t.scopes, ['event:read', 'org:read']);
  assert.equal(t.status, 'active');
  assert.equal(t.rate_limit_per_minute, 90);
  const works = await h.get('/v1/tokens/current', { token: t.token });
  assertOk(works);
  assert.equal(works.body.data.id, t.id);
  assert.equal(works.headers.get('x-ratelimit-limit'), '90');

  const got = await h.get(`/v1/tokens/${t.id}`, { token: admin });
  assertOk(got);
  assert.equal(got.body.data.token, undefined);
  const list = await h.get('/v1/tokens?per_page=1', { token: admin });
  assertOk(list);
  assert.equal(list.body.pagination.total, 2);
  assert.equal(list.body.pagination.total_pages, 2);
  assert.equal(list.body.data.length, 1);
  assert.ok(!list.text.includes(t.token));
});

test('a token cannot grant scopes it does not hold', async () => {
  const { org } = await h.tenant();
  const { token } = await h.token(org.id, ['project:admin', 'event:read']);
  const res = await h.post('/v1/tokens', { name: 'more', scopes: ['event:read', 'webhooks:write'] }, { token });
  assertError(res, 403, 'forbidden');
  assert.deepEqual(res.body.error.details, [{ field: 'scopes', message: 'this token does not hold webhooks:write' }]);
  assertOk(await h.post('/v1/tokens', { name: 'less', scopes: ['event:read'] }, { token }), 201);
});

test('validation: unknown scope, empty scopes, repeated scope, past expiry', async () => {
  const { token } = await h.tenant();
  for (const [body, field] of [
    [{ name: 'x', scopes: ['root'] }, 'scopes.0'],
    [{ name: 'x', scopes: [] }, 'scopes'],
    [{ name: 'x', scopes: ['org:read', 'org:read'] }, 'scopes'],
    [{ name: 'x', scopes: ['org:read'], expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
    [{ name: '', scopes: ['org:read'] }, 'name'],
  ] as const) {
    const res = await h.post('/v1/tokens', body, { token });
    assertError(res, 400, 'validation_error');
    assert.equal(res.body.error.details[0].field, field, JSON.stringify(res.body.error.details));
  }
});

test('expiry is shown and enforced', async () => {
  const { token } = await h.tenant();
  const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
  const created = await h.post('/v1/tokens', { name: 'temp', scopes: ['org:read'], expires_at: expiresAt }, { token });
  assertOk(created, 201);
  assert.equal(created.body.data.expires_at, expiresAt);
  await h.pool.query("update api_tokens set expires_at = now() - interval '1 second' where id = $1", [created.body.data.id]);
  const listed = await h.get(`/v1/tokens/${created.body.data.id}`, { token });
  assert.equal(listed.body.data.status, 'expired');
});

test('unknown or malformed token ids are 404 or 400', async () => {
  const { token } = await h.tenant();
  assertError(await h.get('/v1/tokens/00000000-0000-4000-8000-000000000000', { token }), 404, 'not_found');
  assertError(await h.get('/v1/tokens/not-a-uuid', { token }), 400, 'validation_error');
  assertError(await h.delete('/v1/tokens/00000000-0000-4000-8000-000000000000', { token }), 404, 'not_found');
});

test('a token can revoke itself', async () => {
  const { org } = await h.tenant();
  const { token } = await h.token(org.id, ['event:read']);
  const res = await h.delete('/v1/tokens/current', { token });
  assertOk(res);
  assert.equal(res.body.data.status, 'revoked');
  assertError(await h.get('/v1/tokens/current', { token }), 401, 'unauthorized');
});
