/**
 * Stored records as the stream delivered them, for the backtest: rows of the `events` and `flows`
 * tables (the store's migrations `…_events.sql` and `…_flows.sql`) turned back into the records the
 * engine reads, in event-time order (`timestamp`, `flow_end`), read in keyset pages so a long range
 * never sits in memory at once. Times are read back as whole milliseconds, as they were sent.
 *
 * What the tables do not keep cannot be replayed: an event's `raw` (rules cannot test it anyway),
 * and an event address the store could not parse as `inet` (stored as null).
 */
import type { Queryable } from '@vigil/db';
import type { EventRecord, FlowRecord } from '@vigil/rule-engine';

export interface StoredRange {
  projectIds: readonly number[];
  /** Event time, inclusive. */
  since: Date;
  /** Event time, exclusive. */
  until: Date;
  pageSize?: number;
}

/** The records of this source are not stored in this database (yet). */
export class StoredDataUnavailableError extends Error {
  constructor(readonly source: 'events' | 'flows') {
    super(`${source} are not stored in PostgreSQL in this installation, so there is nothing to run a backtest over`);
    this.name = 'StoredDataUnavailableError';
  }
}

interface EventRow {
  project_id: number;
  event_id: string;
  ts_us: string;
  timestamp_ms: number;
  received_at_ms: number;
  source: EventRecord['source'];
  class: EventRecord['class'];
  severity: EventRecord['severity'];
  type: string;
  message: string | null;
  exception_type: string | null;
  exception_value: string | null;
  platform: string | null;
  release: string | null;
  environment: string | null;
  tags: Record<string, string>;
  user_id: string | null;
  user_email: string | null;
  user_username: string | null;
  user_ip_address: string | null;
  fingerprint: string[];
  client_ip: string | null;
  sdk_name: string | null;
  sdk_version: string | null;
  attributes: Record<string, unknown>;
}

async function tableExists(db: Queryable, table: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>('select to_regclass($1) is not null as found', [table]);
  return rows[0]?.found === true;
}

export async function* storedEvents(db: Queryable, range: StoredRange): AsyncGenerator<EventRecord> {
  if (!(await tableExists(db, 'events'))) throw new StoredDataUnavailableError('events');
  if (range.projectIds.length === 0) return;
  const pageSize = range.pageSize ?? 2000;
  let cursor: { us: string; project: number; id: string } | null = null;
  for (;;) {
    const params: unknown[] = [range.projectIds, range.since, range.until, pageSize];
    let after = '';
    if (cursor !== null) {
      params.push(cursor.us, cursor.project, cursor.id);
      after = `and (timestamp, project_id, event_id) > (timestamptz 'epoch' + $5::bigint * interval '1 microsecond', $6, $7::uuid)`;
    }
    const { rows } = await db.query<EventRow>(
      `select project_id, replace(event_id::text, '-', '') as event_id, (extract(epoch from timestamp) * 1000000)::bigint::text as ts_us,
         round(extract(epoch from timestamp) * 1000)::bigint as timestamp_ms, round(extract(epoch from received_at) * 1000)::bigint as received_at_ms, source, class, severity, type, message, exception_type, exception_value, platform, release,
         environment, tags, user_id, user_email, user_username, host(user_ip_address) as user_ip_address, fingerprint,
         host(client_ip) as client_ip, sdk_name, sdk_version, attributes
       from events
       where project_id = any($1::bigint[]) and timestamp >= $2 and timestamp < $3 ${after}
       order by timestamp, project_id, event_id
       limit $4`,
      params,
    );
    for (const r of rows) yield eventOf(r);
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    cursor = { us: last.ts_us, project: last.project_id, id: last.event_id };
  }
}

function eventOf(r: EventRow): EventRecord {
  const hasUser = r.user_id !== null || r.user_email !== null || r.user_username !== null || r.user_ip_address !== null;
  return {
    event_id: r.event_id,
    project_id: r.project_id,
    timestamp_ms: r.timestamp_ms,
    received_at_ms: r.received_at_ms,
    source: r.source,
    class: r.class,
    severity: r.severity,
    type: r.type,
    message: r.message,
    exception_type: r.exception_type,
    exception_value: r.exception_value,
    platform: r.platform,
    release: r.release,
    environment: r.environment,
    tags: r.tags,
    user: hasUser ? { id: r.user_id, email: r.user_email, username: r.user_username, ip_address: r.user_ip_address } : null,
    fingerprint: r.fingerprint,
    client_ip: r.client_ip,
    sdk_name: r.sdk_name,
    sdk_version: r.sdk_version,
    attributes: r.attributes,
  };
}

interface FlowRow extends FlowRecord {
  flow_id: string;
  end_us: string;
}

export async function* storedFlows(db: Queryable, range: StoredRange): AsyncGenerator<FlowRecord> {
  if (!(await tableExists(db, 'flows'))) throw new StoredDataUnavailableError('flows');
  if (range.projectIds.length === 0) return;
  const pageSize = range.pageSize ?? 5000;
  const ms = (column: string) => `round(extract(epoch from ${column}) * 1000)::bigint as ${column}_ms`;
  let cursor: { us: string; project: number; id: string } | null = null;
  for (;;) {
    const params: unknown[] = [range.projectIds, range.since, range.until, pageSize];
    let after = '';
    if (cursor !== null) {
      params.push(cursor.us, cursor.project, cursor.id);
      after = `and (flow_end, project_id, flow_id) > (timestamptz 'epoch' + $5::bigint * interval '1 microsecond', $6, $7::uuid)`;
    }
    const { rows } = await db.query<FlowRow>(
      `select project_id, flow_id::text as flow_id, (extract(epoch from flow_end) * 1000000)::bigint::text as end_us,
         host(exporter) as exporter, version, observation_domain, sequence, ${ms('flow_start')}, ${ms('flow_end')}, ip_version,
         host(src_addr) as src_addr, host(dst_addr) as dst_addr, src_port, dst_port, protocol, bytes, packets, sampling_rate, tcp_flags,
         tos, input_if, output_if, src_as, dst_as, src_mask, dst_mask, host(next_hop) as next_hop, flow_direction, biflow_direction,
         reverse_bytes, reverse_packets, ${ms('received_at')}
       from flows
       where project_id = any($1::bigint[]) and flow_end >= $2 and flow_end < $3 ${after}
       order by flow_end, project_id, flow_id
       limit $4`,
      params,
    );
    for (const r of rows) {
      const { flow_id: _id, end_us: _end, ...flow } = r;
      yield flow;
    }
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1]!;
    cursor = { us: last.end_us, project: last.project_id, id: last.flow_id };
  }
}
