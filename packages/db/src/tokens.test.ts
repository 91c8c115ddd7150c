import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isolatedDatabase } from '@vigil/testkit';
import type pg from 'pg';
import {
  createApiToken,
  createOrganization,
  createPool,
  generateToken,
  hashToken,
  isWellFormedToken,
  migrate,
  revokeApiToken,
  SCOPES,
  verifyApiToken,
} from './index';

let pool: pg.Pool;
let orgId: number;

before(async () => {
  const url = await isolatedDatabase();
  await migrate({ databaseUrl: url });
  pool = createPool(url);
  orgId = (await createOrganization(pool, 'acme')).id;
});
after(() => pool.end());

test('tokens are vgl_ plus 43 base62 characters, and distinct', () => {
  const tokens = Array.from({ length: 2000 }, generateToken);
  assert.equal(new Set(tokens).size, tokens.length);
  for (const t of tokens) {
    assert.match(t, /^vgl_[0-9A-Za-z]{43}$/);
    assert.ok(isWellFormedToken(t));
  }
  // Characters are spread over the whole alphabet (a biased encoder would leave some unused).
  const used = new Set(tokens.join('').slice(4));
  assert.ok(used.size >= 60, `only ${used.size} distinct characters`);
});

test('the stored hash is SHA-256 of the token and the plaintext is not stored', async () => {
  const { token, record } = await createApiToken(pool, { organizationId: orgId, name: 'ci', scopes: ['event:read'] });
  const row = (await pool.query('select * from api_tokens where id = $1', [record.id])).rows[0];
  assert.deepEqual(row.token_hash, createHash('sha256').update(token).digest());
  assert.deepEqual(row.token_hash, hashToken(token));
  assert.equal(row.prefix, token.slice(0, 12));
  assert.ok(!JSON.stringify(row).includes(token.slice(4)), 'no column holds the secret');
});

test('verification accepts a valid token and says why others are refused', async () => {
  const { token, record } = await createApiToken(pool, { organizationId: orgId, name: 'all', scopes: SCOPES });
  const ok = await verifyApiToken(pool, token);
  assert.equal(ok.ok, true);
  assert.deepEqual(ok.ok && ok.token.scopes, [...SCOPES]);

  assert.deepEqual(await verifyApiToken(pool, 'vgl_short'), { ok: false, reason: 'malformed' });
  assert.deepEqual(await verifyApiToken(pool, generateToken()), { ok: false, reason: 'unknown' });
  const tampered = token.slice(0, -1) + (token.endsWith('a') ? 'b' : 'a');
  assert.deepEqual(await verifyApiToken(pool, tampered), { ok: false, reason: 'unknown' });

  assert.equal(await revokeApiToken(pool, orgId, record.id), true);
  assert.deepEqual(await verifyApiToken(pool, token), { ok: false, reason: 'revoked' });
  assert.equal(await revokeApiToken(pool, orgId, record.id), false, 'already revoked');

  const expiring = await createApiToken(pool, {
    organizationId: orgId,
    name: 'short',
    scopes: ['alerts:read'],
    expiresAt: new Date(Date.now() + 60_000),
  });
  assert.equal((await verifyApiToken(pool, expiring.token)).ok, true);
  assert.deepEqual(await verifyApiToken(pool, expiring.token, new Date(Date.now() + 120_000)), { ok: false, reason: 'expired' });
});

test('a token cannot be revoked through another organization', async () => {
  const other = await createOrganization(pool, 'other');
  const { token, record } = await createApiToken(pool, { organizationId: orgId, name: 'x', scopes: ['org:read'] });
  assert.equal(await revokeApiToken(pool, other.id, record.id), false);
  assert.equal((await verifyApiToken(pool, token)).ok, true);
});
