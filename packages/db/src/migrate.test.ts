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

test('the hourly flow rollups migration sums the minute rollups already stored into UTC hours', async () => {
  const fresh = await isolatedDatabase();
  const applied = await migrate({ databaseUrl: fresh });
  const at = applied.findIndex((name) => name.endsWith('_flow_rollups_hourly'));
  assert.ok(at >= 0);
  await migrate({ databaseUrl: fresh, direction: 'down', count: applied.length - at });
  const db = createPool(fresh, { max: 1 });
  try {
    await db.query("select vigil_ensure_daily_partitions('flow_rollup_sources'::regclass, '2026-03-01', '2026-03-02')");
    await db.query("select vigil_ensure_daily_partitions('flow_rollup_pairs'::regclass, '2026-03-01', '2026-03-02')");
    // Minutes in two hours of one day and in the first hour of the next day (UTC).
    await db.query(
      `insert into flow_rollup_sources (project_id, minute, addr, bytes, packets, flows) values
         (1, '2026-03-01T10:00:00Z', '10.0.0.1', 100, 1, 1), (1, '2026-03-01T10:59:00Z', '10.0.0.1', 50, 2, 3),
         (1, '2026-03-01T11:00:00Z', '10.0.0.1', 7, 1, 1), (2, '2026-03-01T10:30:00Z', '10.0.0.1', 9, 9, 9),
         (1, '2026-03-02T00:10:00Z', '10.0.0.2', 5, 5, 5)`,
    );
    await db.query(`insert into flow_rollup_pairs (project_id, minute, src_addr, dst_addr, bytes, packets, flows) values
         (1, '2026-03-01T23:59:00Z', '10.0.0.1', '10.0.0.2', 1, 1, 1), (1, '2026-03-01T23:01:00Z', '10.0.0.1', '10.0.0.2', 2, 2, 2)`);
    await migrate({ databaseUrl: fresh });
    const { rows } = await db.query<{ project_id: number; hour: Date; addr: string; bytes: number; packets: number; flows: number }>(
      'select project_id, hour, host(addr) as addr, bytes, packets, flows from flow_rollup_sources_hourly order by project_id, hour, addr',
    );
    assert.deepEqual(
      rows.map((r) => [r.project_id, r.hour.toISOString(), r.addr, r.bytes, r.packets, r.flows]),
      [
        [1, '2026-03-01T10:00:00.000Z', '10.0.0.1', 150, 3, 4],
        [1, '2026-03-01T11:00:00.000Z', '10.0.0.1', 7, 1, 1],
        [1, '2026-03-02T00:00:00.000Z', '10.0.0.2', 5, 5, 5],
        [2, '2026-03-01T10:00:00.000Z', '10.0.0.1', 9, 9, 9],
      ],
    );
    const pairs = await db.query<{ hour: Date; bytes: number }>('select hour, bytes from flow_rollup_pairs_hourly');
    assert.deepEqual(pairs.rows.map((r) => [r.hour.toISOString(), r.bytes]), [['2026-03-01T23:00:00.000Z', 3]]);
    assert.equal(Number((await db.query('select count(*) as n from flow_rollup_protocols_hourly')).rows[0].n), 0);
  } finally {
    await db.end();
  }
});
