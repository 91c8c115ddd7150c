import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isolatedDatabase } from '@vigil/testkit';
import pg from 'pg';
import { createPool, migrate } from './index';

let url: string;
let pool: pg.Pool;

before(async () => {
  url = await isolatedDatabase();
  pool = createPool(url);
});
after(() => pool.end());

const tables = async () =>
  (await pool.query<{ t: string }>("select tablename as t from pg_tables where schemaname = 'public' order by 1")).rows.map((r) => r.t);

test('migrations apply, are idempotent, revert and re-apply', async () => {
  const first = await migrate({ databaseUrl: url });
  assert.ok(first.length >= 1);
  assert.deepEqual(
    (await tables()).filter((t) => ['organizations', 'projects', 'project_keys', 'exporters', 'api_tokens'].includes(t)),
    ['api_tokens', 'exporters', 'organizations', 'project_keys', 'projects'],
  );
  assert.deepEqual(await migrate({ databaseUrl: url }), [], 'nothing pending on a second run');

  const reverted = await migrate({ databaseUrl: url, direction: 'down', count: first.length });
  assert.deepEqual(reverted, [...first].reverse());
  assert.ok(!(await tables()).includes('organizations'));

  assert.deepEqual(await migrate({ databaseUrl: url }), first);
});

test('concurrent migrators do not race', async () => {
  const fresh = await isolatedDatabase();
  const results = await Promise.all([migrate({ databaseUrl: fresh }), migrate({ databaseUrl: fresh }), migrate({ databaseUrl: fresh })]);
  const applied = results.flat();
  assert.equal(new Set(applied).size, applied.length, 'each migration applied exactly once');
  assert.ok(applied.length >= 1);
});

test('constraints reject bad configuration rows', async () => {
  await assert.rejects(pool.query("insert into organizations (slug, name) values ('Bad Slug', 'x')"), /check constraint/);
  const org = (await pool.query("insert into organizations (slug, name) values ('acme', 'Acme') returning id")).rows[0].id;
  const project = (await pool.query("insert into projects (organization_id, name, slug) values ($1, 'Web', 'web') returning id", [org])).rows[0].id;
  await assert.rejects(pool.query("insert into project_keys (project_id, public_key) values ($1, 'NOT-HEX')", [project]), /check constraint/);
  await assert.rejects(
    pool.query("insert into project_keys (project_id, public_key, status) values ($1, $2, 'revoked')", [project, 'a'.repeat(32)]),
    /check constraint/,
    'revoked needs revoked_at',
  );
  await assert.rejects(pool.query("insert into exporters (project_id, cidr) values ($1, '10.0.0.1/8')", [project]), /invalid cidr/);
  await pool.query("insert into exporters (project_id, cidr) values ($1, '10.0.0.0/8')", [project]);
  await assert.rejects(pool.query("insert into exporters (project_id, cidr) values ($1, '10.0.0.0/8')", [project]), /duplicate key/);
});
