import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApiToken, SCOPES } from '@vigil/db';
import { ApiHarness, assertError, assertOk } from '../testing/api-harness';

let h: ApiHarness;
let second: ApiHarness | null = null;

before(async () => {
  h = await ApiHarness.start({ VIGIL_API_TOKEN_CACHE_TTL: '30s' });
});
after(async () => {
  await second?.stop();
  await h.stop();
});

test('401 without a token, with a malformed one, another scheme, or an unknown one', async () => {
  for (const headers of [{} as Record<string, string>, { authorization: 'Bearer nope' }, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: `Bearer vgl_${'A'.repeat(43)}` }]) {
    const res = await h.get('/v1/organization', { headers });
    assertError(res, 401, 'unauthorized');
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="vigil"');
    assert.ok(res.headers.get('x-ratelimit-limit'), 'rate-limit headers on 401s too');
  }
});

test('403 when the token lacks the scope, naming it', async () => {
  const { org } = await h.tenant(['event:read']);
  const { token } = await h.token(org.id, ['event:read']);
  const res = await h.get('/v1/projects', { token });
  assertError(res, 403, 'forbidden');
  assert.match(res.body.error.message, /project:read/);
  assertOk(await h.get('/v1/events', { token }));
});

test('an expired token is refused as soon as it expires, even while cached', async () => {
  const { org } = await h.tenant();
  const { token } = await h.token(org.id, ['org:read'], { expiresAt: new Date(Date.now() + 1500) });
  assertOk(await h.get('/v1/organization', { token }));
  await sleep(1600);
  const res = await h.get('/v1/organization', { token });
  assertError(res, 401, 'unauthorized');
  assert.match(res.body.error.message, /expired/);
});

test('revocation through the API is effective immediately, on this instance and on another one', async () => {
  // A second instance on the same database and Redis.
  second = await ApiHarness.attach(h, { VIGIL_API_TOKEN_CACHE_TTL: '30s' });
  const { org, token: admin } = await h.tenant();
  const { token, id } = await h.token(org.id, ['org:read']);
  assertOk(await h.get('/v1/organization', { token }));
  // The second instance has the token cached now.
  assertOk(await second.get('/v1/organization', { token }));
  const revoked = await h.delete(`/v1/tokens/${id}`, { token: admin });
  assertOk(revoked);
  assert.equal(revoked.body.data.status, 'revoked');
  const here = await h.get('/v1/organization', { token });
  assertError(here, 401, 'unauthorized');
  assert.match(here.body.error.message, /revoked/);
  const there = await second.get('/v1/organization', { token });
  assertError(there, 401, 'unauthorized');
  // Revoking again changes nothing; the token stays listed as revoked.
  const again = await h.delete(`/v1/tokens/${id}`, { token: admin });
  assertOk(again);
  assert.equal(again.body.data.revoked_at, revoked.body.data.revoked_at);
});

/** vigil_api_token_cache_total{result} of one instance. */
async function tokenCacheCount(api: ApiHarness, result: 'hit' | 'miss'): Promise<number> {
  const text = await (await fetch(`${api.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('vigil_api_token_cache_total{') && l.includes(`result="${result}"`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

test('a token revoked directly in the database keeps working from the cache until the TTL, then stops', async () => {
  const short = await ApiHarness.attach(h, { VIGIL_API_TOKEN_CACHE_TTL: '3s' });
  try {
    const { org } = await h.tenant();
    const { token, id } = await h.token(org.id, ['org:read']);
    const misses = await tokenCacheCount(short, 'miss');
    const cachedAt = Date.now();
    assertOk(await short.get('/v1/organization', { token }));
    assert.equal(await tokenCacheCount(short, 'miss'), misses + 1, 'the first request looks the token up');
    await h.pool.query('update api_tokens set revoked_at = now() where id = $1', [id]);
    const hits = await tokenCacheCount(short, 'hit');
    // Bypassing the API, nothing tells the instance: its cached lookup still answers.
    assertOk(await short.get('/v1/organization', { token }));
    assertOk(await short.get('/v1/organization', { token }));
    assert.ok(Date.now() - cachedAt < 3000, 'both requests were within the TTL');
    assert.equal(await tokenCacheCount(short, 'hit'), hits + 2, 'served from the cache, not the database');
    assert.equal(await tokenCacheCount(short, 'miss'), misses + 1);
    await sleep(3100 - (Date.now() - cachedAt));
    const refused = await short.get('/v1/organization', { token });
    assertError(refused, 401, 'unauthorized');
    assert.match(refused.body.error.message, /revoked/);
    assert.equal(await tokenCacheCount(short, 'miss'), misses + 2, 'looked up again once the entry expired');
  } finally {
    await short.stop();
  }
});

test('last_used_at is recorded', async () => {
  const { org } = await h.tenant();
  const { token, id } = await h.token(org.id, ['org:read']);
  assertOk(await h.get('/v1/organization', { token }));
  let used: Date | null = null;
  for (let i = 0; i < 50 && !used; i++) {
    used = (await h.pool.query<{ last_used_at: Date | null }>('select last_used_at from api_tokens where id = $1', [id])).rows[0]!.last_used_at;
    if (!used) await sleep(20);
  }
  assert.ok(used && Math.abs(used.getTime() - Date.now()) < 60_000);
});

test('tokens of one organization see nothing of another', async () => {
  const a = await h.tenant();
  const b = await h.tenant();
  const orgA = await h.get('/v1/organization', { token: a.token });
  const orgB = await h.get('/v1/organization', { token: b.token });
  assert.notEqual(orgA.body.data.id, orgB.body.data.id);
  const { record } = await createApiToken(h.pool, { organizationId: a.org.id, name: 'a-only', scopes: SCOPES });
  assertError(await h.get(`/v1/tokens/${record.id}`, { token: b.token }), 404, 'not_found');
  assertError(await h.delete(`/v1/tokens/${record.id}`, { token: b.token }), 404, 'not_found');
  assertOk(await h.get(`/v1/tokens/${record.id}`, { token: a.token }));
});
