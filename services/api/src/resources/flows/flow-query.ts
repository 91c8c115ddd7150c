import type { Queryable, StoredFlowRow } from '@vigil/db';
import { positionTimestamp, type CursorPosition } from '../../http/cursor';
import { isoSql } from '../events/event-query';
import { noProjects, projectIdsSql, soleProject, type ProjectScope } from '../list-filters';
import { newestFirst } from '../widening-window';
import type { Metric } from './flow-schemas';

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


/** A page row rendered by PostgreSQL: the flow's JSON (as toFlow shapes it) and its cursor position. */
export interface RenderedFlowRow {
  json: string;
  flow_id: string;
  position_us: string;
}

/** The Flow object of the OpenAPI document, field for field as toFlow builds it, from a row of COLUMNS named `page`. */
const FLOW_JSON = `(select row_to_json(j) from (select page.flow_id as id, page.project_id, page.exporter, page.version, page.observation_domain,
  page.sequence, ${isoSql('page.flow_start')} as flow_start, ${isoSql('page.flow_end')} as flow_end, ${isoSql('page.received_at')} as received_at,
  page.ip_version, page.src_addr, page.dst_addr, page.src_port, page.dst_port, page.protocol, page.bytes, page.packets, page.sampling_rate,
  page.tcp_flags, page.tos, page.input_if, page.output_if, page.src_as, page.dst_as, page.src_mask, page.dst_mask, page.next_hop,
  page.flow_direction, page.biflow_direction, page.reverse_bytes, page.reverse_packets) j)::text as json`;

/**
 * One page: `limit` rows (fetch limit + 1 to learn whether more follow), through widening time
 * windows, each rendered to JSON by PostgreSQL (the list endpoint splices the texts into its response).
 */
export async function queryFlowsRendered(db: Queryable, projectIds: ProjectScope, f: FlowFilters, after: CursorPosition | null, limit: number): Promise<RenderedFlowRow[]> {
  if (noProjects(projectIds)) return [];
  return newestFirst({ since: f.since, until: f.until, after }, limit, async (since) => (await db.query<RenderedFlowRow>(...windowQuery(projectIds, { ...f, since }, after, limit))).rows);
}

/** The SQL text and parameters of one window's page: each row as its JSON text, cursor position and id. */
function windowQuery(projectIds: ProjectScope, f: FlowFilters, after: CursorPosition | null, limit: number): [string, unknown[]] {
  const params: unknown[] = [];
  const wrap = (text: string): [string, unknown[]] => [
    `select page.flow_id, page.position_us, ${FLOW_JSON} from (${text}) page order by page.flow_end desc, page.sort_id desc`,
    params,
  ];
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
    const t = `${add(positionTimestamp(after.timeUs))}::timestamptz`;
    where.push(`flow_end <= ${t}`, `(flow_end, flow_id) < (${t}, ${add(after.id)}::uuid)`);
  }
  const conditions = where.map((w) => ` and ${w}`).join('');
  const limitParam = add(limit);
  const sole = soleProject(projectIds);
  if (sole !== undefined) {
    const text = `select ${COLUMNS}, flow_id as sort_id from flows where project_id = ${add(sole)}${conditions} order by flow_end desc, flow_id desc limit ${limitParam}`;
    return wrap(text);
  }
  const text = `select page.* from unnest(${projectIdsSql(projectIds, params)}) as p(id) cross join lateral (
      select ${COLUMNS}, flow_id as sort_id from flows where project_id = p.id${conditions}
      order by flow_end desc, flow_id desc limit ${limitParam}
    ) page order by page.flow_end desc, page.sort_id desc limit ${limitParam}`;
  return wrap(text);
}

export const flowPosition = (r: Pick<FlowRow, 'position_us' | 'flow_id'>): CursorPosition => ({ timeUs: BigInt(r.position_us), id: r.flow_id });

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
 * table's time column so only the partitions and index ranges it needs are read. `ids` is the SQL of
 * the project ids (projectIdsSql); the pieces' bounds are appended to `params`.
 */
function rollupRows(table: string, columns: string, ids: string, w: MinuteWindow, params: unknown[]): string {
  const pieces = rollupPieces(w);
  const branch = (from: string, time: string, r: MinuteWindow) =>
    `select ${columns} from ${from} where project_id = any(${ids}) and ${time} >= $${params.push(r.since)} and ${time} < $${params.push(r.until)}`;
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
  projectIds: ProjectScope,
  w: MinuteWindow,
  by: keyof typeof TALKERS,
  metric: Metric,
  limit: number,
): Promise<Array<Totals & { src_addr: string | null; dst_addr: string | null }>> {
  if (noProjects(projectIds)) return [];
  const t = TALKERS[by];
  const params: unknown[] = [];
  const ids = projectIdsSql(projectIds, params);
  const rows = rollupRows(t.table, `${t.dims}, bytes, packets, flows`, ids, w, params);
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

export async function queryProtocols(db: Queryable, projectIds: ProjectScope, w: MinuteWindow, metric: Metric): Promise<Array<Totals & { protocol: number }>> {
  if (noProjects(projectIds)) return [];
  const params: unknown[] = [];
  const ids = projectIdsSql(projectIds, params);
  const rows = rollupRows('flow_rollup_protocols', 'protocol, bytes, packets, flows', ids, w, params);
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
