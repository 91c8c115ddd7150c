import type { FlowRecord } from '@vigil/contracts';
import { withTransaction, type Pool, type Queryable } from '@vigil/db';
import { isRowError } from '../events/event-insert';
import { byHour, ROLLUP_TABLES, rollUp, rollupColumns, type RollupName } from './flow-rollups';

/**
 * Writes a batch of flows and their rollups in one transaction:
 *
 * 1. every row into `flows` with one INSERT … SELECT FROM unnest(…) (one array parameter per column,
 *    however many rows), `on conflict do nothing`, returning the flow_ids it actually wrote;
 * 2. the one-minute rollups of exactly those rows added to the rollup tables (upserts in key order),
 *    then the same sums per hour added to the hourly rollup tables.
 *
 * A replayed batch writes no flow and so adds nothing to the rollups; a half-written batch cannot
 * exist. Rows arrive sorted by (flow_end, flow_id), so two writers that meet on the same rows (a
 * rebalance) take their locks in the same order.
 */
export interface StoredFlow {
  record: FlowRecord;
  flowId: string;
}

const COLUMNS: ReadonlyArray<readonly [column: string, type: string, value: (f: StoredFlow) => unknown, select?: string]> = [
  ['project_id', 'bigint', (f) => f.record.project_id],
  ['flow_end', 'float8', (f) => f.record.flow_end_ms, 'to_timestamp(flow_end / 1000)'],
  ['flow_id', 'uuid', (f) => f.flowId],
  ['flow_start', 'float8', (f) => f.record.flow_start_ms, 'to_timestamp(flow_start / 1000)'],
  ['received_at', 'float8', (f) => f.record.received_at_ms, 'to_timestamp(received_at / 1000)'],
  ['exporter', 'inet', (f) => f.record.exporter],
  ['version', 'smallint', (f) => f.record.version],
  ['observation_domain', 'bigint', (f) => f.record.observation_domain],
  ['sequence', 'bigint', (f) => f.record.sequence],
  ['ip_version', 'smallint', (f) => f.record.ip_version],
  ['src_addr', 'inet', (f) => f.record.src_addr],
  ['dst_addr', 'inet', (f) => f.record.dst_addr],
  ['src_port', 'integer', (f) => f.record.src_port],
  ['dst_port', 'integer', (f) => f.record.dst_port],
  ['protocol', 'smallint', (f) => f.record.protocol],
  ['bytes', 'bigint', (f) => f.record.bytes],
  ['packets', 'bigint', (f) => f.record.packets],
  ['sampling_rate', 'bigint', (f) => f.record.sampling_rate],
  ['tcp_flags', 'integer', (f) => f.record.tcp_flags],
  ['tos', 'smallint', (f) => f.record.tos],
  ['input_if', 'bigint', (f) => f.record.input_if],
  ['output_if', 'bigint', (f) => f.record.output_if],
  ['src_as', 'bigint', (f) => f.record.src_as],
  ['dst_as', 'bigint', (f) => f.record.dst_as],
  ['src_mask', 'smallint', (f) => f.record.src_mask],
  ['dst_mask', 'smallint', (f) => f.record.dst_mask],
  ['next_hop', 'inet', (f) => f.record.next_hop],
  ['flow_direction', 'smallint', (f) => f.record.flow_direction],
  ['biflow_direction', 'smallint', (f) => f.record.biflow_direction],
  ['reverse_bytes', 'bigint', (f) => f.record.reverse_bytes],
  ['reverse_packets', 'bigint', (f) => f.record.reverse_packets],
];

const INSERT_FLOWS_SQL = `
insert into flows (${COLUMNS.map(([c]) => c).join(', ')})
select ${COLUMNS.map(([c, , , select]) => select ?? c).join(', ')}
from unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')}) as t(${COLUMNS.map(([c]) => c).join(', ')})
on conflict do nothing
returning flow_id`;

function upsertSql(name: RollupName, level: 'minute' | 'hour'): string {
  const { dimensions } = ROLLUP_TABLES[name];
  const table = level === 'minute' ? ROLLUP_TABLES[name].table : ROLLUP_TABLES[name].hourlyTable;
  const dims = dimensions.map(([d]) => d);
  const params = ['bigint', 'float8', ...dimensions.map(([, t]) => t), 'bigint', 'bigint', 'bigint'].map((t, i) => `$${i + 1}::${t}[]`);
  return `
insert into ${table} (project_id, ${level}, ${dims.join(', ')}, bytes, packets, flows)
select project_id, to_timestamp(at_ms / 1000), ${dims.join(', ')}, bytes, packets, flows
from unnest(${params.join(', ')}) as t(project_id, at_ms, ${dims.join(', ')}, bytes, packets, flows)
on conflict (project_id, ${level}, ${dims.join(', ')}) do update set
  bytes = ${table}.bytes + excluded.bytes,
  packets = ${table}.packets + excluded.packets,
  flows = ${table}.flows + excluded.flows`;
}

const ROLLUP_NAMES = Object.keys(ROLLUP_TABLES) as RollupName[];
const UPSERT_SQL = Object.fromEntries(ROLLUP_NAMES.map((n) => [n, upsertSql(n, 'minute')])) as Record<RollupName, string>;
const UPSERT_HOURLY_SQL = Object.fromEntries(ROLLUP_NAMES.map((n) => [n, upsertSql(n, 'hour')])) as Record<RollupName, string>;

function byTimeAndId(a: StoredFlow, b: StoredFlow): number {
  return a.record.flow_end_ms - b.record.flow_end_ms || (a.flowId < b.flowId ? -1 : a.flowId > b.flowId ? 1 : 0);
}

/**
 * Inserts the flows and adds the inserted ones to the rollups; returns how many were new.
 * `rollups: false` writes the flows alone (the benchmark's baseline).
 */
export async function insertFlows(db: Queryable, flows: readonly StoredFlow[], options: { rollups?: boolean } = {}): Promise<number> {
  if (flows.length === 0) return 0;
  const sorted = [...flows].sort(byTimeAndId);
  const columns = COLUMNS.map(([, , value]) => sorted.map(value));
  const { rows } = await db.query<{ flow_id: string }>({ name: 'vigil-insert-flows', text: INSERT_FLOWS_SQL, values: columns });
  if (rows.length === 0 || options.rollups === false) return rows.length;
  const written = new Set(rows.map((r) => r.flow_id));
  const rollups = rollUp(sorted.filter((f) => written.has(f.flowId)).map((f) => f.record));
  for (const name of ROLLUP_NAMES) {
    const values = rollupColumns(rollups[name], ROLLUP_TABLES[name].dimensions.length);
    if ((values[0] ?? []).length === 0) continue;
    await db.query({ name: `vigil-rollup-${name}`, text: UPSERT_SQL[name], values });
  }
  for (const name of ROLLUP_NAMES) {
    const values = rollupColumns(byHour(rollups[name]), ROLLUP_TABLES[name].dimensions.length);
    if ((values[0] ?? []).length === 0) continue;
    await db.query({ name: `vigil-rollup-hourly-${name}`, text: UPSERT_HOURLY_SQL[name], values });
  }
  return rows.length;
}

export interface RejectedFlow {
  index: number;
  error: Error;
}

/**
 * Writes the batch in one transaction; when PostgreSQL refuses it because of some row's data, splits
 * it in halves (each its own transaction) until the refused rows are alone, writes the rest, and
 * returns the refused rows. Other errors (connection lost, missing partition) are thrown for the
 * caller to retry the whole batch, which is safe: what was committed is skipped as a duplicate.
 */
export async function writeIsolatingBadRows(
  pool: Pool,
  flows: readonly StoredFlow[],
  offset = 0,
): Promise<{ inserted: number; rejected: RejectedFlow[] }> {
  try {
    return { inserted: await withTransaction(pool, (client) => insertFlows(client, flows)), rejected: [] };
  } catch (error) {
    if (!isRowError(error)) throw error;
    if (flows.length === 1) return { inserted: 0, rejected: [{ index: offset, error: error as Error }] };
    const half = Math.ceil(flows.length / 2);
    const left = await writeIsolatingBadRows(pool, flows.slice(0, half), offset);
    const right = await writeIsolatingBadRows(pool, flows.slice(half), offset + half);
    return { inserted: left.inserted + right.inserted, rejected: [...left.rejected, ...right.rejected] };
  }
}
