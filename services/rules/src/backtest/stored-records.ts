/**
 * Stored records as the stream delivered them, for the backtest: rows of the `events` table (the
 * store's migration `1795398205355_events.sql`) turned back into the records the engine reads, in
 * event-time order, read in keyset pages so a long range never sits in memory at once.
 *
 * What the table does not keep cannot be replayed: `raw` (rules cannot test it anyway), and an
 * address the store could not parse as `inet` (stored as null). Flows are read through the same
 * interface once they are stored in PostgreSQL; until then `storedFlows` reports that it has no table.
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
  timestamp: Date;
  received_at: Date;
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
         timestamp, received_at, source, class, severity, type, message, exception_type, exception_value, platform, release,
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
    timestamp_ms: r.timestamp.getTime(),
    received_at_ms: r.received_at.getTime(),
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

/** Stored flows; throws StoredDataUnavailableError while this installation keeps no flows table. */
export async function* storedFlows(db: Queryable, range: StoredRange): AsyncGenerator<FlowRecord> {
  if (!(await tableExists(db, 'flows'))) throw new StoredDataUnavailableError('flows');
  void range;
  throw new StoredDataUnavailableError('flows');
}
