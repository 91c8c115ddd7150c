import type { FlowRecord } from '@vigil/contracts';

/**
 * One-minute rollups of the flows a batch actually inserted. Each record contributes one directed
 * flow (source → destination, forward counters) and, for a biflow with reverse traffic, a second one
 * (destination → source, reverse counters), so rollups read the same whether an exporter sends
 * biflows or one record per direction. Dimensions: source, destination, source-destination pair,
 * protocol, and protocol with destination port. Rows come out sorted by key, so concurrent writers
 * lock rollup rows in the same order and never deadlock.
 */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

export interface Totals {
  bytes: number;
  packets: number;
  flows: number;
}

export interface RollupTable {
  /** Table name and its dimension columns (after project_id and minute) with PostgreSQL types. */
  table: string;
  /** The same dimensions summed per UTC hour (column `hour` instead of `minute`). */
  hourlyTable: string;
  dimensions: ReadonlyArray<readonly [name: string, type: string]>;
}

export const ROLLUP_TABLES = {
  sources: { table: 'flow_rollup_sources', hourlyTable: 'flow_rollup_sources_hourly', dimensions: [['addr', 'inet']] },
  destinations: { table: 'flow_rollup_destinations', hourlyTable: 'flow_rollup_destinations_hourly', dimensions: [['addr', 'inet']] },
  pairs: { table: 'flow_rollup_pairs', hourlyTable: 'flow_rollup_pairs_hourly', dimensions: [['src_addr', 'inet'], ['dst_addr', 'inet']] },
  protocols: { table: 'flow_rollup_protocols', hourlyTable: 'flow_rollup_protocols_hourly', dimensions: [['protocol', 'smallint']] },
  ports: { table: 'flow_rollup_ports', hourlyTable: 'flow_rollup_ports_hourly', dimensions: [['protocol', 'smallint'], ['port', 'integer']] },
} as const satisfies Record<string, RollupTable>;

export type RollupName = keyof typeof ROLLUP_TABLES;

/** Per table: key → (project, minute — or hour in hourly rollups —, dimension values, totals). */
export interface RollupRow {
  projectId: number;
  minuteMs: number;
  dims: Array<string | number>;
  totals: Totals;
}

export type Rollups = Record<RollupName, Map<string, RollupRow>>;

function add(map: Map<string, RollupRow>, projectId: number, minuteMs: number, dims: Array<string | number>, bytes: number, packets: number): void {
  const key = `${projectId}|${minuteMs}|${dims.join('|')}`;
  const row = map.get(key);
  if (row === undefined) map.set(key, { projectId, minuteMs, dims, totals: { bytes, packets, flows: 1 } });
  else {
    row.totals.bytes += bytes;
    row.totals.packets += packets;
    row.totals.flows += 1;
  }
}

function directed(r: Rollups, p: number, m: number, src: string, dst: string, protocol: number, dstPort: number, bytes: number, packets: number): void {
  add(r.sources, p, m, [src], bytes, packets);
  add(r.destinations, p, m, [dst], bytes, packets);
  add(r.pairs, p, m, [src, dst], bytes, packets);
  add(r.protocols, p, m, [protocol], bytes, packets);
  add(r.ports, p, m, [protocol, dstPort], bytes, packets);
}

export function rollUp(records: readonly FlowRecord[]): Rollups {
  const r: Rollups = { sources: new Map(), destinations: new Map(), pairs: new Map(), protocols: new Map(), ports: new Map() };
  for (const f of records) {
    const minute = Math.floor(f.flow_end_ms / MINUTE_MS) * MINUTE_MS;
    directed(r, f.project_id, minute, f.src_addr, f.dst_addr, f.protocol, f.dst_port, f.bytes, f.packets);
    if (f.reverse_packets > 0 || f.reverse_bytes > 0) {
      directed(r, f.project_id, minute, f.dst_addr, f.src_addr, f.protocol, f.src_port, f.reverse_bytes, f.reverse_packets);
    }
  }
  return r;
}

/** The same rows summed per UTC hour: what the batch adds to the hourly rollups. */
export function byHour(rows: Map<string, RollupRow>): Map<string, RollupRow> {
  const hours = new Map<string, RollupRow>();
  for (const row of rows.values()) {
    const hourMs = Math.floor(row.minuteMs / HOUR_MS) * HOUR_MS;
    const key = `${row.projectId}|${hourMs}|${row.dims.join('|')}`;
    const sum = hours.get(key);
    if (sum === undefined) hours.set(key, { projectId: row.projectId, minuteMs: hourMs, dims: row.dims, totals: { ...row.totals } });
    else {
      sum.totals.bytes += row.totals.bytes;
      sum.totals.packets += row.totals.packets;
      sum.totals.flows += row.totals.flows;
    }
  }
  return hours;
}

/** Rows of one table as column arrays in key order: project_id, minute_ms, dimensions…, bytes, packets, flows. */
export function rollupColumns(rows: Map<string, RollupRow>, dimensions: number): unknown[][] {
  const sorted = [...rows.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const columns: unknown[][] = Array.from({ length: 5 + dimensions }, () => new Array<unknown>(sorted.length));
  sorted.forEach(([, row], i) => {
    columns[0]![i] = row.projectId;
    columns[1]![i] = row.minuteMs;
    for (let d = 0; d < dimensions; d++) columns[2 + d]![i] = row.dims[d];
    columns[2 + dimensions]![i] = row.totals.bytes;
    columns[3 + dimensions]![i] = row.totals.packets;
    columns[4 + dimensions]![i] = row.totals.flows;
  });
  return columns;
}
