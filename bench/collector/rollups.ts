/**
 * Flow storage and the one-minute rollups: writes an hour of synthetic flows through the store's own
 * write path (flows table + rollups in one transaction per batch, the way the flows sink does), then
 * times the read queries the API answers top talkers and protocol/port breakdowns with, over that
 * hour. Baselines measured in the same run:
 *
 *  - write: the same batches inserted into `flows` alone (no rollups), to show what rollups cost;
 *  - read: the same answers computed from the raw `flows` rows (group by over the hour), to show what
 *    rollups save. Every rollup answer is checked equal to its raw-table answer.
 *
 *   source /tmp/vigil-dev/env.sh   # any DATABASE_URL with the right to create databases
 *   node --import tsx bench/collector/rollups.ts [flows=1000000] [sources=50000]
 */
import type { FlowRecord } from '@vigil/contracts';
import { createPool, migrate, portBreakdown, protocolBreakdown, topTalkers, withTransaction, type Pool } from '@vigil/db';
import { isolatedDatabase } from '@vigil/testkit';
import { flowId } from '../../services/store/src/flows/flow-identity';
import { insertFlows, type StoredFlow } from '../../services/store/src/flows/flow-insert';
import { prng } from '../prng';

const FLOWS = Number(process.argv[2] ?? 1_000_000);
const SOURCES = Number(process.argv[3] ?? 50_000);
const BATCH = 5_000;
const PROJECT = 1;
if (!process.env.DATABASE_URL) {
  console.error('set DATABASE_URL (e.g. source /tmp/vigil-dev/env.sh)');
  process.exit(2);
}
process.env.KAFKA_BROKERS ??= 'unused:1';
process.env.SCHEMA_REGISTRY_URL ??= 'http://unused';
process.env.REDIS_URL ??= 'redis://unused';

const HOUR = 3_600_000;
const end = Math.floor(Date.now() / 60_000) * 60_000;
const start = end - HOUR;

const rand = prng(7);
/** Skewed: a few heavy hitters, a long tail (as real traffic). */
const skewed = (n: number) => Math.floor(n * rand() ** 3);
const v4 = (i: number, net: number) => `10.${net}.${(i >> 8) & 255}.${i & 255}`;

function synthetic(i: number): FlowRecord {
  const proto = rand() < 0.7 ? 6 : rand() < 0.9 ? 17 : 1;
  const flowEnd = start + Math.floor((i / FLOWS) * HOUR);
  return {
    project_id: PROJECT,
    exporter: '192.0.2.1',
    version: 10,
    observation_domain: 0,
    sequence: i,
    flow_start_ms: flowEnd - 1000,
    flow_end_ms: flowEnd,
    ip_version: 4,
    src_addr: v4(skewed(SOURCES), 1),
    dst_addr: v4(skewed(SOURCES / 2), 2),
    src_port: 1024 + Math.floor(rand() * 60000),
    dst_port: proto === 1 ? 0 : [443, 80, 53, 22, 123, 8080][skewed(6)]! + (rand() < 0.1 ? skewed(2000) : 0),
    protocol: proto,
    bytes: 40 + skewed(1_000_000),
    packets: 1 + skewed(1000),
    sampling_rate: 1,
    tcp_flags: 0,
    tos: 0,
    input_if: 1,
    output_if: 2,
    src_as: 0,
    dst_as: 0,
    src_mask: 0,
    dst_mask: 0,
    next_hop: null,
    flow_direction: 0,
    biflow_direction: null,
    reverse_bytes: 0,
    reverse_packets: 0,
    received_at_ms: flowEnd + 5_000,
  };
}

async function freshDatabase(): Promise<Pool> {
  const url = await isolatedDatabase();
  await migrate({ databaseUrl: url });
  const pool = createPool(url, { max: 2 });
  for (const table of ['flows', 'flow_rollup_sources', 'flow_rollup_destinations', 'flow_rollup_pairs', 'flow_rollup_protocols', 'flow_rollup_ports']) {
    await pool.query('select vigil_ensure_daily_partitions($1::regclass, $2::date, $3::date)', [table, new Date(start - 86_400_000), new Date(end + 86_400_000)]);
  }
  return pool;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const batches: StoredFlow[][] = [];
for (let i = 0; i < FLOWS; i += BATCH) {
  const batch: StoredFlow[] = [];
  for (let k = i; k < Math.min(FLOWS, i + BATCH); k++) {
    const record = synthetic(k);
    batch.push({ record, flowId: flowId(record) });
  }
  batches.push(batch);
}

// Write: flows + rollups (the sink's transaction) vs flows alone.
const pool = await freshDatabase();
let t0 = performance.now();
for (const b of batches) await withTransaction(pool, (c) => insertFlows(c, b));
const withRollups = FLOWS / ((performance.now() - t0) / 1000);
await pool.query('analyze');

const bare = await freshDatabase();
t0 = performance.now();
for (const b of batches) await withTransaction(bare, (c) => insertFlows(c, b, { rollups: false }));
const flowsOnly = FLOWS / ((performance.now() - t0) / 1000);
await bare.end();

console.log(`wrote ${fmt(FLOWS)} flows over one hour, ${fmt(SOURCES)} sources, batches of ${fmt(BATCH)}`);
console.log(`  flows + rollups: ${fmt(withRollups)} flows/s; flows alone (baseline): ${fmt(flowsOnly)} flows/s; ratio ${(withRollups / flowsOnly).toFixed(2)}`);
for (const t of ['flow_rollup_sources', 'flow_rollup_destinations', 'flow_rollup_pairs', 'flow_rollup_protocols', 'flow_rollup_ports']) {
  const { rows } = await pool.query<{ n: string }>(`select count(*)::text as n from ${t}`);
  console.log(`  ${t}: ${fmt(Number(rows[0]!.n))} rows`);
}

// Read: rollups vs the raw table, same answers.
const window = { projectId: PROJECT, since: new Date(start), until: new Date(end) };
const raw = {
  src: `select host(src_addr) as src_addr, null as dst_addr, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets, count(*)::float8 as flows from flows where project_id = $1 and flow_end >= $2 and flow_end < $3 group by src_addr order by bytes desc, src_addr limit 10`,
  dst: `select null as src_addr, host(dst_addr) as dst_addr, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets, count(*)::float8 as flows from flows where project_id = $1 and flow_end >= $2 and flow_end < $3 group by dst_addr order by bytes desc, dst_addr limit 10`,
  pair: `select host(src_addr) as src_addr, host(dst_addr) as dst_addr, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets, count(*)::float8 as flows from flows where project_id = $1 and flow_end >= $2 and flow_end < $3 group by src_addr, dst_addr order by bytes desc, src_addr, dst_addr limit 10`,
  protocols: `select protocol, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets, count(*)::float8 as flows from flows where project_id = $1 and flow_end >= $2 and flow_end < $3 group by protocol order by bytes desc, protocol`,
  ports: `select protocol, dst_port as port, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets, count(*)::float8 as flows from flows where project_id = $1 and flow_end >= $2 and flow_end < $3 group by protocol, dst_port order by bytes desc, protocol, port limit 10`,
};
const queries: Array<[string, () => Promise<unknown>, string]> = [
  ['top talkers by source', () => topTalkers(pool, { ...window, by: 'src' }), raw.src],
  ['top talkers by destination', () => topTalkers(pool, { ...window, by: 'dst' }), raw.dst],
  ['top talkers by pair', () => topTalkers(pool, { ...window, by: 'pair' }), raw.pair],
  ['protocol breakdown', () => protocolBreakdown(pool, window), raw.protocols],
  ['port breakdown', () => portBreakdown(pool, window), raw.ports],
];
const median = async (fn: () => Promise<unknown>, runs = 5): Promise<[number, unknown]> => {
  let result: unknown;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    result = await fn();
    times.push(performance.now() - t);
  }
  return [times.sort((a, b) => a - b)[Math.floor(runs / 2)]!, result];
};
console.log('query over the hour          rollups (median of 5)   raw flows table (baseline)   ratio');
for (const [name, rollup, sql] of queries) {
  const [ms, got] = await median(rollup);
  const [rawMs, want] = await median(async () => (await pool.query(sql, [PROJECT, window.since, window.until])).rows, 3);
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${name}: rollups and raw flows disagree\n${JSON.stringify(got)}\n${JSON.stringify(want)}`);
  console.log(`${name.padEnd(28)} ${ms.toFixed(1).padStart(10)} ms ${rawMs.toFixed(1).padStart(24)} ms ${(rawMs / ms).toFixed(1).padStart(12)}x`);
}
await pool.end();
