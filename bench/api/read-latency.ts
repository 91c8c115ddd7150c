/**
 * Read API latency over a large data set: 10 million events and 10 million flows (loaded with COPY,
 * see seed-data.ts; the first run loads them into the database `vigil_bench_api`, later runs reuse
 * it), 100,000 alerts. The API runs as its own process, as deployed; wrk drives 50 concurrent
 * connections per scenario. For every scenario: req/s, p50 and p99, and the ratio to the baseline
 * measured in the same run — `GET /v1/organization`, which pays for the same token check, rate
 * limit, envelope and one trivial query — then the EXPLAIN ANALYZE of the query behind it.
 *
 * Goals (issue 7): p99 < 50 ms for list pages, < 200 ms for top talkers, at 50 concurrent clients.
 *
 *   source /tmp/vigil-dev/env.sh && node --import tsx bench/api/read-latency.ts \
 *     [--events 10000000] [--flows 10000000] [--alerts 100000] [--duration 10] [--connections 50]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createApiToken, createPool, SCOPES, type Pool, type Queryable } from '@vigil/db';
import { freePort, testEnv } from '@vigil/testkit';
import pg from 'pg';
import { encodeCursor } from '../../services/api/src/http/cursor';
import { queryEventsRendered as queryEvents } from '../../services/api/src/resources/events/event-query';
import { minuteWindow, queryFlowsRendered, queryTopTalkers } from '../../services/api/src/resources/flows/flow-query';
import { listAlertsRendered } from '../../services/api/src/resources/alerts/alert-page';
import { seedBenchData, type SeededData } from './seed-data';
import { cpuSeconds } from '../delivery/measure';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '10000000' },
    flows: { type: 'string', default: '10000000' },
    alerts: { type: 'string', default: '100000' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    database: { type: 'string', default: 'vigil_bench_api' },
    'no-explain': { type: 'boolean', default: false },
    /** Only the scenarios whose name matches this regular expression (the baseline always runs). */
    only: { type: 'string' },
    /** Write a V8 CPU profile of the API process into this directory (node --cpu-prof). */
    'cpu-prof': { type: 'string' },
  },
});

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);

async function benchDatabase(name: string): Promise<string> {
  const admin = new URL(testEnv().adminDatabaseUrl);
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  admin.pathname = `/${name}`;
  return admin.toString();
}

async function startApiProcess(databaseUrl: string, port: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  const profile = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', `${ROOT}/services/api/src/main.ts`], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      VIGIL_API_ADDR: `127.0.0.1:${port}`,
      VIGIL_API_REDIS_PREFIX: `vigil:apibench:${process.pid}:`,
      VIGIL_API_DB_POOL: '20',
      VIGIL_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  // The API must not outlive the benchmark, however it ends.
  const stop = () => child.kill('SIGTERM');
  process.once('exit', stop);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (stop(), process.exit(130)));
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  throw new Error('the API did not become ready');
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  /** CPU µs per request of the API process and of its PostgreSQL backends (from /proc). */
  apiCpuUs?: number;
  pgCpuUs?: number;
}

const UNIT: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
const ms = (text: string) => {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  return m ? Number(m[1]) * UNIT[m[2]!]! : NaN;
};

async function wrk(url: string, token: string, seconds: number, connections: number): Promise<Measured> {
  const child = spawn('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '10s', '-H', `Authorization: Bearer ${token}`, url]);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`wrk exited ${code}: ${out}`);
  const pct = (p: string) => ms(new RegExp(`\\s${p}%\\s+([\\d.]+(?:us|ms|s))`).exec(out)?.[1] ?? '');
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: pct('50'),
    p99: pct('99'),
    requests: Number(/(\d+) requests in/.exec(out)?.[1]),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  };
}

/**
 * A Queryable that runs EXPLAIN ANALYZE of every query, keeps the plans, then runs the query itself
 * and returns its rows, so a page read through widening windows stops where the endpoint stops and
 * the plans are those of the queries a request runs.
 */
function explaining(pool: Pool): { db: Queryable; plans: string[] } {
  const plans: string[] = [];
  const db = {
    async query(text: string, params?: unknown[]) {
      const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${text}`, params);
      plans.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
      return pool.query(text, params);
    },
  } as unknown as Queryable;
  return { db, plans };
}

interface Scenario {
  name: string;
  path: string;
  kind: 'baseline' | 'list' | 'top-talkers';
  explain?: (db: Queryable) => Promise<unknown>;
}

function scenarios(data: SeededData, deepCursor: { timeUs: bigint; id: string }): Scenario[] {
  const p = data.projectIds;
  // What the API reads when no project is named: every project of the organization (looked up in the query).
  const all = { organizationId: data.organizationId };
  const end = new Date(data.endMs);
  const hourAgo = new Date(data.endMs - 3_600_000);
  const dayAgo = new Date(data.endMs - 86_400_000);
  const iso = (d: Date) => d.toISOString();
  return [
    { name: 'baseline GET /v1/organization', path: '/v1/organization', kind: 'baseline' },
    { name: 'events, first page', path: '/v1/events?limit=50', kind: 'list', explain: (db) => queryEvents(db, all, {}, null, 51) },
    {
      name: 'events, class+severity',
      path: '/v1/events?class=security&severity=high,critical&limit=50',
      kind: 'list',
      explain: (db) => queryEvents(db, all, { class: ['security'], severity: ['high', 'critical'] }, null, 51),
    },
    {
      name: 'events, project+type',
      path: `/v1/events?project=${p[1]}&type=privilege.escalation&limit=50`,
      kind: 'list',
      explain: (db) => queryEvents(db, [p[1]!], { type: 'privilege.escalation' }, null, 51),
    },
    {
      name: 'events, full text q',
      path: '/v1/events?q=certificate%20expired&limit=50',
      kind: 'list',
      explain: (db) => queryEvents(db, all, { q: 'certificate expired' }, null, 51),
    },
    {
      name: 'events, deep cursor (15 days back)',
      path: `/v1/events?limit=50&after=${encodeCursor('events', deepCursor)}`,
      kind: 'list',
      explain: (db) => queryEvents(db, all, {}, deepCursor, 51),
    },
    { name: 'alerts, first page', path: '/v1/alerts?limit=50', kind: 'list', explain: (db) => listAlertsRendered(db, { organizationId: data.organizationId, limit: 51 }) },
    {
      name: 'alerts, status=open',
      path: '/v1/alerts?status=open&limit=50',
      kind: 'list',
      explain: (db) => listAlertsRendered(db, { organizationId: data.organizationId, status: ['open'], limit: 51 }),
    },
    { name: 'flows, first page', path: '/v1/flows?limit=50', kind: 'list', explain: (db) => queryFlowsRendered(db, all, {}, null, 51) },
    {
      name: 'top talkers by src, 1 hour',
      path: `/v1/flows/top-talkers?by=src&since=${iso(hourAgo)}&until=${iso(end)}`,
      kind: 'top-talkers',
      explain: (db) => queryTopTalkers(db, all, minuteWindow(hourAgo, end), 'src', 'bytes', 10),
    },
    {
      name: 'top talkers by src, 1 day',
      path: `/v1/flows/top-talkers?by=src&since=${iso(dayAgo)}&until=${iso(end)}`,
      kind: 'top-talkers',
      explain: (db) => queryTopTalkers(db, all, minuteWindow(dayAgo, end), 'src', 'bytes', 10),
    },
    {
      name: 'top talkers by pair, 1 day',
      path: `/v1/flows/top-talkers?by=pair&since=${iso(dayAgo)}&until=${iso(end)}`,
      kind: 'top-talkers',
      explain: (db) => queryTopTalkers(db, all, minuteWindow(dayAgo, end), 'pair', 'bytes', 10),
    },
  ];
}

const sizes = { events: Number(args.events), flows: Number(args.flows), alerts: Number(args.alerts) };
const databaseUrl = await benchDatabase(args.database!);
log(`database ${args.database}; data set: ${sizes.events} events, ${sizes.flows} flows, ${sizes.alerts} alerts`);
const data = await seedBenchData(databaseUrl, sizes, (line) => log(`  seed: ${line}`));
const pool = createPool(databaseUrl, { max: 2 });
const { token } = await createApiToken(pool, { organizationId: data.organizationId, name: 'bench', scopes: SCOPES, rateLimitPerMinute: 100_000_000 });
const deep = await pool.query<{ us: string; id: string }>(
  `select (extract(epoch from timestamp) * 1000000)::int8::text as us, replace(event_id::text, '-', '') as id from events
   where project_id = any($1) and timestamp < $2 order by timestamp desc, event_id desc limit 1`,
  [data.projectIds, new Date(data.endMs - 15 * 86_400_000)],
);
const deepCursor = { timeUs: BigInt(deep.rows[0]!.us), id: deep.rows[0]!.id };

const seconds = Number(args.duration);
const connections = Number(args.connections);
const results: Array<{ s: Scenario; m: Measured }> = [];

async function measure(list: Scenario[], env: Record<string, string>, suffix = ''): Promise<void> {
  const port = await freePort();
  const api = await startApiProcess(databaseUrl, port, env);
  try {
    for (const s of list) {
      const url = `http://127.0.0.1:${port}${s.path}`;
      const check = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      if (!check.ok) {
        // A scenario whose single request already fails (e.g. a 503 when the query outlasts the statement timeout) is reported, not measured.
        const named = { ...s, name: `${s.name}${suffix} (first request: ${check.status})` };
        results.push({ s: named, m: { rps: 0, p50: NaN, p99: NaN, requests: 0, non2xx: 1 } });
        log(`  ${named.name}: ${(await check.text()).slice(0, 200)}`);
        continue;
      }
      await wrk(url, token, 2, connections); // warm-up
      const cpu0 = await cpu(api.pid!);
      const m = await wrk(url, token, seconds, connections);
      const cpu1 = await cpu(api.pid!);
      if (m.requests > 0) {
        m.apiCpuUs = ((cpu1.api - cpu0.api) * 1e6) / m.requests;
        m.pgCpuUs = ((cpu1.postgres - cpu0.postgres) * 1e6) / m.requests;
      }
      const named = { ...s, name: s.name + suffix };
      results.push({ s: named, m });
      log(
        `  ${named.name}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50.toFixed(1)} ms, p99 ${m.p99.toFixed(1)} ms, ` +
          `CPU per request: API ${m.apiCpuUs?.toFixed(0) ?? '—'} µs, PostgreSQL ${m.pgCpuUs?.toFixed(0) ?? '—'} µs${m.non2xx ? `, ${m.non2xx} non-2xx` : ''}`,
      );
    }
  } finally {
    // Waits for the exit, so the next API (and a CPU profile being written) does not overlap.
    const exited = new Promise((resolve) => api.once('exit', resolve));
    api.kill('SIGTERM');
    await exited;
  }
}

/** CPU seconds used so far by the API process and by its PostgreSQL backends (PostgreSQL runs on this machine). */
async function cpu(apiPid: number): Promise<{ api: number; postgres: number }> {
  const { rows } = await pool.query<{ pid: number }>(`select pid from pg_stat_activity where application_name = 'vigil-api' and datname = current_database()`);
  let postgres = 0;
  for (const row of rows) {
    try {
      postgres += cpuSeconds(row.pid);
    } catch {
      // the backend ended meanwhile
    }
  }
  return { api: cpuSeconds(apiPid), postgres };
}

const only = args.only ? new RegExp(args.only, 'i') : null;
const all = scenarios(data, deepCursor).filter((s) => s.kind === 'baseline' || !only || only.test(s.name));
await measure(all, {});
// List pages again with every request running its own query (no shared reads), and top talkers again
// with every request aggregating the rollups (no shared answers): what each query costs on its own.
await measure(all.filter((s) => s.kind === 'list'), { VIGIL_API_SHARED_READS: 'false' }, ' (shared reads off)');
await measure(all.filter((s) => s.kind === 'top-talkers'), { VIGIL_API_ROLLUP_CACHE_TTL: '0' }, ' (cache off)');

const base = results[0]!.m;
const os = await import('node:os');
log(
  `\n${connections} concurrent connections, ${seconds} s per scenario, API and PostgreSQL on this machine (${os.cpus().length} cores, ` +
    `load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})\n`,
);
log('| scenario | req/s | p50 ms | p99 ms | p99 / baseline | req/s / baseline | API CPU µs/req | PostgreSQL CPU µs/req | goal (p99) | met |');
log('|---|---|---|---|---|---|---|---|---|---|');
for (const { s, m } of results) {
  const goal = s.kind === 'list' ? 50 : s.kind === 'top-talkers' ? 200 : null;
  log(
    `| ${s.name} | ${m.rps.toFixed(0)} | ${m.p50.toFixed(1)} | ${m.p99.toFixed(1)} | ${(m.p99 / base.p99).toFixed(2)}× | ${(m.rps / base.rps).toFixed(2)}× | ${m.apiCpuUs?.toFixed(0) ?? '—'} | ${m.pgCpuUs?.toFixed(0) ?? '—'} | ${goal ? `< ${goal} ms` : '—'} | ${goal ? (m.requests > 0 && m.p99 < goal ? 'yes' : 'no') : '—'} |`,
  );
}

if (!args['no-explain']) {
  for (const s of all) {
    if (!s.explain) continue;
    const { db, plans } = explaining(pool);
    await s.explain(db);
    log(`\n### EXPLAIN ANALYZE — ${s.name}\n${plans.join('\n---\n')}`);
  }
}
await pool.end();
