import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ApiHarness, assertError, assertOk } from '../../testing/api-harness';

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start({ VIGIL_PUBLIC_URL: 'https://ingest.example.com' });
});
after(async () => h.stop());

test('create a project: its first key carries a DSN on the public ingest URL', async () => {
  const { token } = await h.tenant();
  const res = await h.post('/v1/projects', { name: 'Web Shop' }, { token });
  assertOk(res, 201);
  const p = res.body.data;
  assert.equal(p.slug, 'web-shop');
  assert.equal(p.key.dsn, `https://${p.key.public_key}@ingest.example.com/${p.id}`);
  assert.equal(p.key.status, 'active');
  assertError(await h.post('/v1/projects', { name: 'web shop' }, { token }), 409, 'conflict');
  const bySlug = await h.get('/v1/projects/web-shop', { token });
  assertOk(bySlug);
  assert.equal(bySlug.body.data.id, p.id);
  assertOk(await h.get(`/v1/projects/${p.id}`, { token }));
});

test('list pages: total, last page, past the last page, empty organization', async () => {
  const { token } = await h.tenant();
  const empty = await h.get('/v1/projects', { token });
  assertOk(empty);
  assert.deepEqual(empty.body.data, []);
  assert.deepEqual(empty.body.pagination, { total: 0, page: 1, per_page: 50, total_pages: 0 });
  for (const name of ['a', 'b', 'c', 'd', 'e']) assertOk(await h.post('/v1/projects', { name }, { token }), 201);
  const last = await h.get('/v1/projects?page=3&per_page=2', { token });
  assertOk(last);
  assert.deepEqual(last.body.data.map((p: { slug: string }) => p.slug), ['e']);
  assert.deepEqual(last.body.pagination, { total: 5, page: 3, per_page: 2, total_pages: 3 });
  const past = await h.get('/v1/projects?page=4&per_page=2', { token });
  assertOk(past);
  assert.deepEqual(past.body.data, []);
  assertError(await h.get('/v1/projects?page=0', { token }), 400, 'validation_error');
});

test('update and delete', async () => {
  const { token } = await h.tenant();
  const p = (await h.post('/v1/projects', { name: 'old' }, { token })).body.data;
  assertOk(await h.post('/v1/projects', { name: 'taken' }, { token }), 201);
  const renamed = await h.patch(`/v1/projects/${p.id}`, { name: 'New name', slug: 'new' }, { token });
  assertOk(renamed);
  assert.deepEqual([renamed.body.data.name, renamed.body.data.slug], ['New name', 'new']);
  assertError(await h.patch(`/v1/projects/${p.id}`, { slug: 'taken' }, { token }), 409, 'conflict');
  assertError(await h.patch(`/v1/projects/${p.id}`, { slug: 'Bad Slug' }, { token }), 400, 'validation_error');
  assertError(await h.patch(`/v1/projects/${p.id}`, {}, { token }), 400, 'validation_error');
  const gone = await h.delete(`/v1/projects/${p.id}`, { token });
  assert.equal(gone.status, 204);
  assertError(await h.get(`/v1/projects/${p.id}`, { token }), 404, 'not_found');
  assertError(await h.delete(`/v1/projects/${p.id}`, { token }), 404, 'not_found');
  assertError(await h.get('/v1/projects/99999999999999999999', { token }), 404, 'not_found');
});

test('keys: create with label and limit, list, get, revoke', async () => {
  const { token } = await h.tenant();
  const p = (await h.post('/v1/projects', { name: 'keys' }, { token })).body.data;
  const created = await h.post(`/v1/projects/${p.id}/keys`, { label: 'browser', rate_limit_per_minute: 600 }, { token });
  assertOk(created, 201);
  const key = created.body.data;
  assert.equal(key.label, 'browser');
  assert.equal(key.rate_limit_per_minute, 600);
  assert.match(key.dsn, new RegExp(`^https://${key.public_key}@ingest\\.example\\.com/${p.id}$`));
  const list = await h.get(`/v1/projects/${p.slug}/keys`, { token });
  assertOk(list);
  assert.equal(list.body.pagination.total, 2);
  const revoked = await h.delete(`/v1/projects/${p.id}/keys/${key.id}`, { token });
  assertOk(revoked);
  assert.equal(revoked.body.data.status, 'revoked');
  assert.ok(revoked.body.data.revoked_at);
  const again = await h.delete(`/v1/projects/${p.id}/keys/${key.id}`, { token });
  assert.equal(again.body.data.revoked_at, revoked.body.data.revoked_at);
  const other = (await h.post('/v1/projects', { name: 'other' }, { token })).body.data;
  assertError(await h.get(`/v1/projects/${other.id}/keys/${key.id}`, { token }), 404, 'not_found');
  assertError(await h.get(`/v1/projects/${p.id}/keys/abc`, { token }), 400, 'validation_error');
});

test('exporters: register (normalised), duplicate 409, list, get, delete', async () => {
  const { token } = await h.tenant();
  const p = (await h.post('/v1/projects', { name: 'flows' }, { token })).body.data;
  const res = await h.post(`/v1/projects/${p.id}/exporters`, { cidr: '192.0.2.77/24', observation_domain: 5, name: 'edge' }, { token });
  assertOk(res, 201);
  assert.equal(res.body.data.cidr, '192.0.2.0/24');
  assert.equal(res.body.data.observation_domain, 5);
  assertError(await h.post(`/v1/projects/${p.id}/exporters`, { cidr: '192.0.2.0/24', observation_domain: 5 }, { token }), 409, 'conflict');
  const v6 = await h.post(`/v1/projects/${p.id}/exporters`, { cidr: '2001:db8::1' }, { token });
  assertOk(v6, 201);
  assert.equal(v6.body.data.cidr, '2001:db8::1/128');
  assertError(await h.post(`/v1/projects/${p.id}/exporters`, { cidr: '300.1.1.1/8' }, { token }), 400, 'validation_error');
  assertError(await h.post(`/v1/projects/${p.id}/exporters`, { cidr: '10.0.0.0/33' }, { token }), 400, 'validation_error');
  const list = await h.get(`/v1/projects/${p.id}/exporters`, { token });
  assert.equal(list.body.pagination.total, 2);
  assertOk(await h.get(`/v1/projects/${p.id}/exporters/${v6.body.data.id}`, { token }));
  assert.equal((await h.delete(`/v1/projects/${p.id}/exporters/${v6.body.data.id}`, { token })).status, 204);
  assertError(await h.get(`/v1/projects/${p.id}/exporters/${v6.body.data.id}`, { token }), 404, 'not_found');
});
