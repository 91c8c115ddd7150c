/**
 * The benchmark's data set, generated and loaded with COPY (psql `\copy … from stdin`, fed by a
 * generator with backpressure): 10 million events over 30 days and 10 million flows over 7 days in
 * 4 projects of one organization, with the one-minute and hourly flow rollups computed from the
 * loaded flows (as the store maintains them), 100,000 alerts, and ANALYZE. A database seeded by an
 * earlier version is brought up to date by the migrations (new indexes, the hourly rollups summed
 * from the minute rollups), not loaded again. Distributions are skewed the way real
 * data is (most events are info/low, a few hundred internal hosts, Zipf-like destinations), from a
 * seeded PRNG, so every run loads the same data. The database is kept and reused by later runs.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createApiToken, createOrganization, createPool, createProject, migrate, SCOPES, type Pool } from '@vigil/db';
import { prng } from '../prng';

export interface SeedSizes {
  events: number;
  flows: number;
  alerts: number;
}

export interface SeededData {
  organizationId: number;
  projectIds: number[];
  sizes: SeedSizes;
  /** The newest event time and flow end (data ends "now" as of seeding). */
  endMs: number;
}

const DAY = 86_400_000;

function weighted<T>(random: () => number, table: Array<[T, number]>): () => T {
  const total = table.reduce((s, [, w]) => s + w, 0);
  return () => {
    let r = random() * total;
    for (const [value, w] of table) if ((r -= w) < 0) return value;
    return table[table.length - 1]![0];
  };
}

const TYPES: Record<string, string[]> = {
  security: ['auth.login_failed', 'auth.login', 'auth.mfa_failed', 'access.denied', 'privilege.escalation', 'malware.detected', 'policy.violation'],
  network: ['port.scan', 'dns.query_blocked', 'firewall.drop', 'tls.handshake_failed', 'connection.reset'],
  audit: ['config.changed', 'user.created', 'user.deleted', 'role.granted', 'key.rotated'],
  error: ['exception', 'timeout', 'crash', 'out_of_memory'],
};
const WORDS = ['failed', 'password', 'denied', 'timeout', 'blocked', 'request', 'session', 'admin', 'root', 'invalid', 'token', 'expired', 'upstream', 'database', 'connection', 'refused', 'certificate', 'unknown', 'scanner', 'suspicious'];

async function copyInto(databaseUrl: string, table: string, columns: string, rows: AsyncIterable<string> | Iterable<string>): Promise<void> {
  const psql = spawn('psql', [databaseUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `\\copy ${table} (${columns}) from stdin with (format csv)`], {
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = new Promise<number>((resolve) => psql.on('exit', (code) => resolve(code ?? 1)));
  await pipeline(Readable.from(rows, { objectMode: false }), psql.stdin);
  const code = await exited;
  if (code !== 0) throw new Error(`psql \\copy into ${table} exited ${code}`);
}

/** Lines in chunks of ~1000, so the stream moves strings, not characters. */
function* chunks(lines: Iterable<string>, size = 1000): Generator<string> {
  let buf: string[] = [];
  for (const line of lines) {
    buf.push(line);
    if (buf.length === size) {
      yield buf.join('');
      buf = [];
    }
  }
  if (buf.length) yield buf.join('');
}

function* eventRows(n: number, projectIds: number[], endMs: number): Generator<string> {
  const random = prng(7);
  const cls = weighted(random, [['security', 40], ['network', 30], ['audit', 20], ['error', 10]]);
  const sev = weighted(random, [['info', 50], ['low', 25], ['medium', 15], ['high', 8], ['critical', 2]]);
  const start = endMs - 30 * DAY;
  const step = (30 * DAY) / n;
  const ids = randomBytes(16 * 65536);
  for (let i = 0; i < n; i++) {
    if (i % 65536 === 0 && i > 0) randomBytes(16 * 65536).copy(ids);
    const id = ids.toString('hex', (i % 65536) * 16, (i % 65536) * 16 + 16);
    const t = new Date(start + i * step + random() * step).toISOString();
    const c = cls();
    const types = TYPES[c]!;
    const type = types[Math.floor(random() ** 2 * types.length)]!;
    const ip = `198.51.${Math.floor(random() * 40)}.${Math.floor(random() * 250)}`;
    const message = `${WORDS[Math.floor(random() * WORDS.length)]} ${WORDS[Math.floor(random() * WORDS.length)]} for u${Math.floor(random() * 5000)} from ${ip}`;
    const project = projectIds[Math.floor(random() ** 1.5 * projectIds.length)]!;
    yield `${project},${id},${t},${t},native,${c},${sev()},${type},${message},{},{},${ip},{},\\x7b7d\n`;
  }
}

function* flowRows(n: number, projectIds: number[], endMs: number): Generator<string> {
  const random = prng(11);
  const proto = weighted(random, [[6, 80], [17, 18], [1, 2]]);
  const port = weighted(random, [[443, 50], [80, 15], [53, 15], [22, 5], [3389, 2], [0, 13]]);
  const start = endMs - 7 * DAY;
  const step = (7 * DAY) / n;
  const ids = randomBytes(16 * 65536);
  for (let i = 0; i < n; i++) {
    if (i % 65536 === 0 && i > 0) randomBytes(16 * 65536).copy(ids);
    const id = ids.toString('hex', (i % 65536) * 16, (i % 65536) * 16 + 16);
    const endT = start + i * step + random() * step;
    const end = new Date(endT).toISOString();
    const begin = new Date(endT - Math.floor(random() * 60_000)).toISOString();
    // 500 internal hosts send most flows; destinations are Zipf-like over 20,000 external addresses.
    const internal = random() < 0.8;
    const host = Math.floor(random() ** 2 * 500);
    const inside = `10.0.${host >> 8}.${host & 255}`;
    const ext = Math.floor(20_000 * random() ** 3);
    const outside = `203.${(ext >> 16) & 255}.${(ext >> 8) & 255}.${ext & 255}`;
    const [src, dst] = internal ? [inside, outside] : [outside, inside];
    const p = proto();
    const dport = p === 1 ? 0 : port() || 1024 + Math.floor(random() * 60000);
    const sport = p === 1 ? 0 : 1024 + Math.floor(random() * 60000);
    const packets = 1 + Math.floor(random() ** 3 * 2000);
    const bytes = packets * (60 + Math.floor(random() * 1400));
    const project = projectIds[Math.floor(random() ** 1.5 * projectIds.length)]!;
    yield `${project},${end},${id},${begin},${end},192.0.2.${1 + (host % 4)},10,0,${i},4,${src},${dst},${sport},${dport},${p},${bytes},${packets}\n`;
  }
}

async function ensurePartitions(pool: Pool, tables: string[], fromMs: number, toMs: number): Promise<void> {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  for (const table of tables) await pool.query('select vigil_ensure_daily_partitions($1::regclass, $2::date, $3::date)', [table, day(fromMs), day(toMs + DAY)]);
}

export async function seedBenchData(databaseUrl: string, sizes: SeedSizes, log: (line: string) => void): Promise<SeededData> {
  const migrated = await migrate({ databaseUrl });
  const pool = createPool(databaseUrl, { max: 2 });
  try {
    await pool.query('create table if not exists bench_api_seed (organization_id bigint, project_ids bigint[], events bigint, flows bigint, alerts bigint, end_ms bigint)');
    const existing = await pool.query<{ organization_id: number; project_ids: string[]; events: number; flows: number; alerts: number; end_ms: string }>(
      'select organization_id, project_ids::text[] as project_ids, events, flows, alerts, end_ms::text from bench_api_seed',
    );
    const row = existing.rows[0];
    if (row && row.events === sizes.events && row.flows === sizes.flows && row.alerts === sizes.alerts) {
      log(`reusing the seeded data set (${row.events} events, ${row.flows} flows, ${row.alerts} alerts)`);
      if (migrated.length > 0) {
        log(`migrations applied to it: ${migrated.join(', ')}`);
        await pool.query('analyze');
      }
      return { organizationId: row.organization_id, projectIds: row.project_ids.map(Number), sizes, endMs: Number(row.end_ms) };
    }
    if (row) throw new Error('the bench database holds a data set of other sizes; drop it first (dropdb vigil_bench_api)');

    const endMs = Math.floor(Date.now() / 60_000) * 60_000;
    const org = await createOrganization(pool, 'bench');
    const projectIds: number[] = [];
    for (const name of ['web', 'api', 'edge', 'corp']) projectIds.push((await createProject(pool, org.id, name)).project.id);
    await createApiToken(pool, { organizationId: org.id, name: 'seed', scopes: SCOPES });
    const timed = async (what: string, fn: () => Promise<unknown>) => {
      const t = performance.now();
      await fn();
      log(`${what}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    };
    await ensurePartitions(pool, ['events'], endMs - 31 * DAY, endMs);
    const rollupTables = ['flow_rollup_sources', 'flow_rollup_destinations', 'flow_rollup_pairs', 'flow_rollup_protocols', 'flow_rollup_ports'];
    await ensurePartitions(pool, ['flows', ...rollupTables, ...rollupTables.map((t) => `${t}_hourly`)], endMs - 8 * DAY, endMs);
    // Secondary indexes are built once after the load (as a restore does), not row by row.
    const indexes = await pool.query<{ indexdef: string; indexname: string }>(
      `select indexname, indexdef from pg_indexes where tablename in ('events', 'flows') and indexname not like '%_pkey'`,
    );
    for (const ix of indexes.rows) await pool.query(`drop index ${ix.indexname}`);
    await timed(`COPY ${sizes.events} events`, () =>
      copyInto(databaseUrl, 'events', 'project_id,event_id,timestamp,received_at,source,class,severity,type,message,tags,fingerprint,client_ip,attributes,raw', chunks(eventRows(sizes.events, projectIds, endMs))),
    );
    await timed('event id registry', () => pool.query('insert into event_ids (project_id, event_id, timestamp) select project_id, event_id, timestamp from events'));
    await timed(`COPY ${sizes.flows} flows`, () =>
      copyInto(databaseUrl, 'flows', 'project_id,flow_end,flow_id,flow_start,received_at,exporter,version,observation_domain,sequence,ip_version,src_addr,dst_addr,src_port,dst_port,protocol,bytes,packets', chunks(flowRows(sizes.flows, projectIds, endMs))),
    );
    await timed(`${indexes.rows.length} event and flow indexes`, async () => {
      // pg_indexes shows a partitioned index as `ON ONLY parent`; without ONLY it is built on every partition.
      for (const ix of indexes.rows) await pool.query(ix.indexdef.replace(' ON ONLY ', ' ON '));
    });
    const rollup = async (table: string, dims: string, exprs: string) => {
      await timed(`rollup ${table}`, () =>
        pool.query(
          `insert into ${table} (project_id, minute, ${dims}, bytes, packets, flows)
           select project_id, date_trunc('minute', flow_end), ${exprs}, sum(bytes), sum(packets), count(*) from flows
           group by project_id, date_trunc('minute', flow_end), ${exprs}`,
        ),
      );
      await timed(`rollup ${table}_hourly`, () =>
        pool.query(
          `insert into ${table}_hourly (project_id, hour, ${dims}, bytes, packets, flows)
           select project_id, date_trunc('hour', minute, 'UTC'), ${dims}, sum(bytes), sum(packets), sum(flows) from ${table}
           group by project_id, date_trunc('hour', minute, 'UTC'), ${dims}`,
        ),
      );
    };
    await rollup('flow_rollup_sources', 'addr', 'src_addr');
    await rollup('flow_rollup_destinations', 'addr', 'dst_addr');
    await rollup('flow_rollup_pairs', 'src_addr, dst_addr', 'src_addr, dst_addr');
    await rollup('flow_rollup_protocols', 'protocol', 'protocol');
    await rollup('flow_rollup_ports', 'protocol, port', 'protocol, dst_port');
    await timed(`${sizes.alerts} alerts`, () =>
      pool.query(
        `insert into alerts (id, organization_id, project_id, rule_id, rule_version, rule_name, severity, status, title, summary, group_key,
           group_values, window_start, window_end, value, threshold, first_seen, last_seen, detected_at, evidence, tags, created_at, updated_at,
           acknowledged_at, resolved_at)
         select md5(g::text), $1, ($2::bigint[])[1 + g % 4], 'rule-' || (g % 20), 1, 'Rule ' || (g % 20),
           (array['critical','high','medium','low','info'])[1 + (g % 5)], (array['open','acknowledged','resolved'])[1 + (g % 3)],
           'Detection ' || g, 'summary', '[]', '{}', t - interval '5 minutes', t, 12, 10, t - interval '5 minutes', t, t, 'null', '{}', t, t,
           case when g % 3 = 1 then t end, case when g % 3 = 2 then t end
         from generate_series(1, $3::int) g,
           lateral (select date_trunc('milliseconds', to_timestamp(($4::bigint - 30::bigint * 86400000 + g::bigint * (30::bigint * 86400000 / $3::bigint)) / 1000.0)) as t) tt`,
        [org.id, projectIds, sizes.alerts, endMs],
      ),
    );
    await timed('ANALYZE', () => pool.query('analyze'));
    await pool.query('insert into bench_api_seed values ($1, $2, $3, $4, $5, $6)', [org.id, projectIds, sizes.events, sizes.flows, sizes.alerts, endMs]);
    return { organizationId: org.id, projectIds, sizes, endMs };
  } finally {
    await pool.end();
  }
}
