/**
 * Read queries over the flows the store writes (migration `*_flows.sql`): flow lists with the read
 * API's filters, and top talkers and protocol/port breakdowns from the one-minute rollups.
 *
 * Rollup windows are whole minutes of flow end: `since` is rounded down and `until` up to the minute,
 * and a minute counts when its start lies in [since, until). Biflows count as two directed flows.
 */
import type { Queryable } from './pool';

export type FlowMetric = 'bytes' | 'packets' | 'flows';
export type TalkerDimension = 'src' | 'dst' | 'pair';

export interface FlowWindow {
  projectId: number;
  since: Date;
  until: Date;
}

export interface Totals {
  bytes: number;
  packets: number;
  flows: number;
}

export type Talker = Totals & { src_addr: string | null; dst_addr: string | null };
export type ProtocolShare = Totals & { protocol: number };
export type PortShare = Totals & { protocol: number; port: number };

const MINUTE_MS = 60_000;
const METRICS: ReadonlySet<FlowMetric> = new Set(['bytes', 'packets', 'flows']);

function minuteBounds(w: FlowWindow): [Date, Date] {
  const since = Math.floor(w.since.getTime() / MINUTE_MS) * MINUTE_MS;
  const until = Math.ceil(w.until.getTime() / MINUTE_MS) * MINUTE_MS;
  return [new Date(since), new Date(until)];
}

function metricColumn(metric: FlowMetric): FlowMetric {
  if (!METRICS.has(metric)) throw new RangeError(`unknown flow metric ${String(metric)}`);
  return metric;
}

const limitOf = (limit: number | undefined) => Math.max(1, Math.min(1000, Math.trunc(limit ?? 10)));

/** The addresses (or pairs) with the most bytes, packets or flows in the window. */
export async function topTalkers(
  db: Queryable,
  w: FlowWindow & { by: TalkerDimension; metric?: FlowMetric; limit?: number },
): Promise<Talker[]> {
  const metric = metricColumn(w.metric ?? 'bytes');
  const [since, until] = minuteBounds(w);
  const source =
    w.by === 'pair'
      ? { table: 'flow_rollup_pairs', select: 'host(src_addr) as src_addr, host(dst_addr) as dst_addr', group: 'src_addr, dst_addr' }
      : w.by === 'src'
        ? { table: 'flow_rollup_sources', select: 'host(addr) as src_addr, null as dst_addr', group: 'addr' }
        : { table: 'flow_rollup_destinations', select: 'null as src_addr, host(addr) as dst_addr', group: 'addr' };
  const { rows } = await db.query<Talker>(
    `select ${source.select}, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets, sum(flows)::float8 as flows
       from ${source.table}
      where project_id = $1 and minute >= $2 and minute < $3
      group by ${source.group}
      order by ${metric} desc, ${source.group}
      limit $4`,
    [w.projectId, since, until, limitOf(w.limit)],
  );
  return rows;
}

/** Traffic per IP protocol in the window, largest first. */
export async function protocolBreakdown(db: Queryable, w: FlowWindow & { metric?: FlowMetric }): Promise<ProtocolShare[]> {
  const metric = metricColumn(w.metric ?? 'bytes');
  const [since, until] = minuteBounds(w);
  const { rows } = await db.query<ProtocolShare>(
    `select protocol, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets, sum(flows)::float8 as flows
       from flow_rollup_protocols
      where project_id = $1 and minute >= $2 and minute < $3
      group by protocol
      order by ${metric} desc, protocol`,
    [w.projectId, since, until],
  );
  return rows;
}

/** Traffic per destination port (of each directed flow), optionally of one protocol, largest first. */
export async function portBreakdown(
  db: Queryable,
  w: FlowWindow & { protocol?: number; metric?: FlowMetric; limit?: number },
): Promise<PortShare[]> {
  const metric = metricColumn(w.metric ?? 'bytes');
  const [since, until] = minuteBounds(w);
  const { rows } = await db.query<PortShare>(
    `select protocol, port, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets, sum(flows)::float8 as flows
       from flow_rollup_ports
      where project_id = $1 and minute >= $2 and minute < $3 and ($4::smallint is null or protocol = $4)
      group by protocol, port
      order by ${metric} desc, protocol, port
      limit $5`,
    [w.projectId, since, until, w.protocol ?? null, limitOf(w.limit)],
  );
  return rows;
}

export interface FlowFilter {
  projectId: number;
  /** Exporter address. */
  exporter?: string;
  /** Source / destination address or CIDR (`10.0.0.0/8`). */
  src?: string;
  dst?: string;
  /** Either port. */
  port?: number;
  protocol?: number;
  /** Flow end in [since, until). */
  since?: Date;
  until?: Date;
  /** Cursor from a previous page. */
  after?: string;
  limit?: number;
}

export interface StoredFlowRow {
  flow_id: string;
  project_id: number;
  exporter: string;
  version: number;
  observation_domain: number;
  sequence: number;
  flow_start: Date;
  flow_end: Date;
  received_at: Date;
  ip_version: number;
  src_addr: string;
  dst_addr: string;
  src_port: number;
  dst_port: number;
  protocol: number;
  bytes: number;
  packets: number;
  sampling_rate: number;
  tcp_flags: number;
  tos: number;
  input_if: number;
  output_if: number;
  src_as: number;
  dst_as: number;
  src_mask: number;
  dst_mask: number;
  next_hop: string | null;
  flow_direction: number | null;
  biflow_direction: number | null;
  reverse_bytes: number;
  reverse_packets: number;
}

/** `<flow_end microseconds>.<flow_id>`: newest first, stable under inserts. */
function encodeCursor(row: { flow_end_us: string; flow_id: string }): string {
  return Buffer.from(`${row.flow_end_us}.${row.flow_id}`).toString('base64url');
}

function decodeCursor(cursor: string): { endUs: string; id: string } | null {
  const m = /^(-?\d{1,20})\.([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString());
  return m === null ? null : { endUs: m[1]!, id: m[2]! };
}

/** Flows newest first (by flow end), with keyset pagination. Throws RangeError on a malformed cursor. */
export async function listFlows(db: Queryable, f: FlowFilter): Promise<{ flows: StoredFlowRow[]; nextCursor: string | null }> {
  const where = ['project_id = $1'];
  const values: unknown[] = [f.projectId];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  if (f.exporter !== undefined) where.push(`exporter = ${param(f.exporter)}::inet`);
  if (f.src !== undefined) where.push(`src_addr <<= ${param(f.src)}::inet`);
  if (f.dst !== undefined) where.push(`dst_addr <<= ${param(f.dst)}::inet`);
  if (f.port !== undefined) {
    const p = param(f.port);
    where.push(`(src_port = ${p} or dst_port = ${p})`);
  }
  if (f.protocol !== undefined) where.push(`protocol = ${param(f.protocol)}`);
  if (f.since !== undefined) where.push(`flow_end >= ${param(f.since)}`);
  if (f.until !== undefined) where.push(`flow_end < ${param(f.until)}`);
  if (f.after !== undefined) {
    const c = decodeCursor(f.after);
    if (c === null) throw new RangeError('malformed cursor');
    const end = param(c.endUs);
    where.push(`(flow_end, flow_id) < (timestamptz 'epoch' + ${end}::bigint * interval '1 microsecond', ${param(c.id)}::uuid)`);
  }
  const limit = Math.max(1, Math.min(1000, Math.trunc(f.limit ?? 100)));
  const { rows } = await db.query<StoredFlowRow & { flow_end_us: string }>(
    `select flow_id::text, project_id, host(exporter) as exporter, version, observation_domain, sequence, flow_start, flow_end,
            received_at, ip_version, host(src_addr) as src_addr, host(dst_addr) as dst_addr, src_port, dst_port, protocol,
            bytes, packets, sampling_rate, tcp_flags, tos, input_if, output_if, src_as, dst_as, src_mask, dst_mask,
            host(next_hop) as next_hop, flow_direction, biflow_direction, reverse_bytes, reverse_packets,
            (extract(epoch from flow_end) * 1000000)::bigint::text as flow_end_us
       from flows
      where ${where.join(' and ')}
      order by flow_end desc, flow_id desc
      limit ${param(limit + 1)}`,
    values,
  );
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const nextCursor = rows.length > limit && last !== undefined ? encodeCursor(last) : null;
  return { flows: page.map(({ flow_end_us: _, ...row }) => row), nextCursor };
}
