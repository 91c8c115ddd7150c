import type { Queryable, StoredFlowRow } from '@vigil/db';
import type { z } from 'zod';
import type { CursorPosition } from '../../http/cursor';
import { newestFirst } from '../widening-window';
import type { flowSchema, Metric } from './flow-schemas';

/**
 * The SQL behind /v1/flows and its rollup views. Flow pages are keyset pages on (flow_end, flow_id),
 * each project read through its (project_id[, src_addr|dst_addr|exporter], flow_end desc) index and
 * the per-project pages merged, as for events. Top talkers and protocols sum the rollups of the
 * organization's projects over whole minutes: hourly rows for the whole hours of the window, minute
 * rows for its edges (rollupPieces).
 */
export interface FlowFilters {
  exporter?: string;
  src?: string;
  dst?: string;
  port?: number;
  protocol?: number;
  since?: Date;
  until?: Date;
}

type FlowRow = StoredFlowRow & { position_us: string };

const COLUMNS = `flow_id::text as flow_id, project_id, host(exporter) as exporter, version, observation_domain, sequence, flow_start, flow_end,
  received_at, ip_version, host(src_addr) as src_addr, host(dst_addr) as dst_addr, src_port, dst_port, protocol, bytes, packets,
  sampling_rate, tcp_flags, tos, input_if, output_if, src_as, dst_as, src_mask, dst_mask, host(next_hop) as next_hop,
  flow_direction, biflow_direction, reverse_bytes, reverse_packets, (extract(epoch from flow_end) * 1000000)::int8::text as position_us`;

const AT = (param: string) => `(timestamptz 'epoch' + ${param}::int8 * interval '1 microsecond')`;

/** One page: `limit` rows (fetch limit + 1 to learn whether more follow), through widening time windows. */
export async function queryFlows(db: Queryable, projectIds: number[], f: FlowFilters, after: CursorPosition | null, limit: number): Promise<FlowRow[]> {
  if (projectIds.length === 0) return [];
  return newestFirst({ since: f.since, until: f.until, after }, limit, (since) => queryWindow(db, projectIds, { ...f, since }, after, limit));
}

async function queryWindow(db: Queryable, projectIds: number[], f: FlowFilters, after: CursorPosition | null, limit: number): Promise<FlowRow[]> {
  const params: unknown[] = [];
  const add = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (f.exporter !== undefined) where.push(`exporter <<= ${add(f.exporter)}::inet`);
  if (f.src !== undefined) where.push(`src_addr <<= ${add(f.src)}::inet`);
  if (f.dst !== undefined) where.push(`dst_addr <<= ${add(f.dst)}::inet`);
  if (f.port !== undefined) {
    const p = add(f.port);
    where.push(`(src_port = ${p} or dst_port = ${p})`);
  }
  if (f.protocol !== undefined) where.push(`protocol = ${add(f.protocol)}`);
  if (f.since) where.push(`flow_end >= ${add(f.since)}`);
  if (f.until) where.push(`flow_end < ${add(f.until)}`);
  if (after) {
    const t = add(after.timeUs.toString());
    where.push(`flow_end <= ${AT(t)}`, `(flow_end, flow_id) < (${AT(t)}, ${add(after.id)}::uuid)`);
  }
  const conditions = where.map((w) => ` and ${w}`).join('');
  const limitParam = add(limit);
  if (projectIds.length === 1) {
    const text = `select ${COLUMNS} from flows where project_id = ${add(projectIds[0])}${conditions} order by flow_end desc, flow_id desc limit ${limitParam}`;
    return (await db.query<FlowRow>(text, params)).rows;
  }
  const text = `select page.* from unnest(${add(projectIds)}::bigint[]) as p(id) cross join lateral (
      select ${COLUMNS}, flow_id as sort_id from flows where project_id = p.id${conditions}
      order by flow_end desc, flow_id desc limit ${limitParam}
    ) page order by page.flow_end desc, page.sort_id desc limit ${limitParam}`;
  return (await db.query<FlowRow>(text, params)).rows;
}

export const flowPosition = (r: FlowRow): CursorPosition => ({ timeUs: BigInt(r.position_us), id: r.flow_id });

export function toFlow(r: FlowRow): z.output<typeof flowSchema> {
  return {
    id: r.flow_id,
    project_id: r.project_id,
    exporter: r.exporter,
    version: r.version as 5 | 9 | 10,
    observation_domain: r.observation_domain,
    sequence: r.sequence,
    flow_start: r.flow_start.toISOString(),
    flow_end: r.flow_end.toISOString(),
    received_at: r.received_at.toISOString(),
    ip_version: r.ip_version as 4 | 6,
    src_addr: r.src_addr,
    dst_addr: r.dst_addr,
    src_port: r.src_port,
    dst_port: r.dst_port,
    protocol: r.protocol,
    bytes: r.bytes,
    packets: r.packets,
    sampling_rate: r.sampling_rate,
    tcp_flags: r.tcp_flags,
    tos: r.tos,
    input_if: r.input_if,
    output_if: r.output_if,
    src_as: r.src_as,
    dst_as: r.dst_as,
    src_mask: r.src_mask,
    dst_mask: r.dst_mask,
    next_hop: r.next_hop,
    flow_direction: r.flow_direction,
    biflow_direction: r.biflow_direction,
    reverse_bytes: r.reverse_bytes,
    reverse_packets: r.reverse_packets,
  };
}

export interface MinuteWindow {
  since: Date;
  until: Date;
}

/** Rollups hold whole minutes: the window widens to the minutes it touches. */
export function minuteWindow(since: Date, until: Date): MinuteWindow {
  return { since: new Date(Math.floor(since.getTime() / 60_000) * 60_000), until: new Date(Math.ceil(until.getTime() / 60_000) * 60_000) };
}

export interface Totals {
  bytes: number;
  packets: number;
  flows: number;
}

const HOUR_MS = 3_600_000;

/**
 * Where the rows of a window come from: the hourly rollups for the whole UTC hours inside it, the
 * minute rollups for the minutes before the first and after the last whole hour. Each piece is a
 * half-open [since, until) range; a window without a whole hour is read from the minute rollups alone.
 */
export interface RollupPieces {
  hours: MinuteWindow | null;
  minutes: MinuteWindow[];
}

export function rollupPieces(w: MinuteWindow): RollupPieces {
  const firstHour = Math.ceil(w.since.getTime() / HOUR_MS) * HOUR_MS;
  const lastHour = Math.floor(w.until.getTime() / HOUR_MS) * HOUR_MS;
  if (firstHour >= lastHour) return { hours: null, minutes: [w] };
  const minutes: MinuteWindow[] = [];
  if (w.since.getTime() < firstHour) minutes.push({ since: w.since, until: new Date(firstHour) });
  if (lastHour < w.until.getTime()) minutes.push({ since: new Date(lastHour), until: w.until });
  return { hours: { since: new Date(firstHour), until: new Date(lastHour) }, minutes };
}

/**
 * `select <columns> from <the rollup rows of the window>`: one branch per piece, each bounded on its
 * table's time column so only the partitions and index ranges it needs are read. `$1` holds the
 * project ids; the pieces' bounds are appended to `params`.
 */
function rollupRows(table: string, columns: string, w: MinuteWindow, params: unknown[]): string {
  const pieces = rollupPieces(w);
  const branch = (from: string, time: string, r: MinuteWindow) =>
    `select ${columns} from ${from} where project_id = any($1::bigint[]) and ${time} >= $${params.push(r.since)} and ${time} < $${params.push(r.until)}`;
  const branches = pieces.minutes.map((r) => branch(table, 'minute', r));
  if (pieces.hours) branches.unshift(branch(`${table}_hourly`, 'hour', pieces.hours));
  return branches.join('\n      union all\n      ');
}

const TALKERS = {
  src: { table: 'flow_rollup_sources', dims: 'addr', select: 'host(addr) as src_addr, null::text as dst_addr' },
  dst: { table: 'flow_rollup_destinations', dims: 'addr', select: 'null::text as src_addr, host(addr) as dst_addr' },
  pair: { table: 'flow_rollup_pairs', dims: 'src_addr, dst_addr', select: 'host(src_addr) as src_addr, host(dst_addr) as dst_addr' },
} as const;

export async function queryTopTalkers(
  db: Queryable,
  projectIds: number[],
  w: MinuteWindow,
  by: keyof typeof TALKERS,
  metric: Metric,
  limit: number,
): Promise<Array<Totals & { src_addr: string | null; dst_addr: string | null }>> {
  if (projectIds.length === 0) return [];
  const t = TALKERS[by];
  const params: unknown[] = [projectIds];
  const rows = rollupRows(t.table, `${t.dims}, bytes, packets, flows`, w, params);
  const { rows: talkers } = await db.query<Totals & { src_addr: string | null; dst_addr: string | null }>(
    `select ${t.select}, sum(bytes)::int8 as bytes, sum(packets)::int8 as packets, sum(flows)::int8 as flows
       from (
      ${rows}
      ) r
      group by ${t.dims}
      order by sum(${metric}) desc, ${t.dims}
      limit $${params.push(limit)}`,
    params,
  );
  return talkers;
}

export async function queryProtocols(db: Queryable, projectIds: number[], w: MinuteWindow, metric: Metric): Promise<Array<Totals & { protocol: number }>> {
  if (projectIds.length === 0) return [];
  const params: unknown[] = [projectIds];
  const rows = rollupRows('flow_rollup_protocols', 'protocol, bytes, packets, flows', w, params);
  const { rows: protocols } = await db.query<Totals & { protocol: number }>(
    `select protocol, sum(bytes)::int8 as bytes, sum(packets)::int8 as packets, sum(flows)::int8 as flows
       from (
      ${rows}
      ) r
      group by protocol
      order by sum(${metric}) desc, protocol`,
    params,
  );
  return protocols;
}

/** IANA protocol keywords of the protocols a network mostly carries. */
export const PROTOCOL_NAMES: Record<number, string> = {
  1: 'icmp',
  2: 'igmp',
  4: 'ipip',
  6: 'tcp',
  17: 'udp',
  41: 'ipv6',
  47: 'gre',
  50: 'esp',
  51: 'ah',
  58: 'ipv6-icmp',
  89: 'ospf',
  103: 'pim',
  112: 'vrrp',
  132: 'sctp',
};
