import type { Queryable } from '@vigil/db';
import type { z } from 'zod';
import type { CursorPosition } from '../../http/cursor';
import { newestFirst } from '../widening-window';
import type { EventFilters, eventDetailSchema, eventSchema } from './event-schemas';

/**
 * The SQL behind /v1/events: keyset pages newest first on (timestamp, event_id).
 *
 * Each project is read on its own through the (project_id[, class|severity|type], timestamp desc)
 * indexes, which return rows already in time order, newest partition first, so a page costs about
 * `limit` index entries per project however many events are stored; the per-project pages are then
 * merged. `timestamp <= cursor time` is repeated beside the row comparison so the index bounds the
 * scan of a deep page instead of filtering from the newest row down.
 */
const columns = (t: string) => `replace(${t}event_id::text, '-', '') as id, ${t}project_id, ${t}timestamp, ${t}received_at, ${t}source,
  ${t}class, ${t}severity, ${t}type, ${t}message, ${t}exception_type, ${t}exception_value, ${t}platform, ${t}release, ${t}environment,
  ${t}tags, ${t}user_id, ${t}user_email, ${t}user_username, host(${t}user_ip_address) as user_ip_address, ${t}fingerprint,
  host(${t}client_ip) as client_ip, ${t}sdk_name, ${t}sdk_version, ${t}attributes,
  (extract(epoch from ${t}timestamp) * 1000000)::int8::text as position_us`;
const COLUMNS = columns('');

export interface EventRow {
  id: string;
  project_id: number;
  timestamp: Date;
  received_at: Date;
  source: 'sentry' | 'native';
  class: 'security' | 'network' | 'audit' | 'error';
  severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
  type: string;
  message: string | null;
  exception_type: string | null;
  exception_value: string | null;
  platform: string | null;
  release: string | null;
  environment: string | null;
  tags: Record<string, unknown>;
  user_id: string | null;
  user_email: string | null;
  user_username: string | null;
  user_ip_address: string | null;
  fingerprint: string[];
  client_ip: string | null;
  sdk_name: string | null;
  sdk_version: string | null;
  attributes: Record<string, unknown>;
  position_us: string;
}

const AT = (param: string) => `(timestamptz 'epoch' + ${param}::int8 * interval '1 microsecond')`;

function conditions(f: EventFilters, after: CursorPosition | null, params: unknown[]): string[] {
  const add = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (f.class) where.push(f.class.length === 1 ? `class = ${add(f.class[0])}` : `class = any(${add(f.class)}::text[])`);
  if (f.severity) where.push(f.severity.length === 1 ? `severity = ${add(f.severity[0])}` : `severity = any(${add(f.severity)}::text[])`);
  if (f.type !== undefined) where.push(`type = ${add(f.type)}`);
  if (f.since) where.push(`timestamp >= ${add(f.since)}`);
  if (f.until) where.push(`timestamp < ${add(f.until)}`);
  if (f.q !== undefined) where.push(`search @@ websearch_to_tsquery('simple', ${add(f.q)})`);
  if (after) {
    const t = add(after.timeUs.toString());
    const id = add(after.id);
    where.push(`timestamp <= ${AT(t)}`, `(timestamp, event_id) < (${AT(t)}, ${id}::uuid)`);
  }
  return where;
}

/** One page: `limit` rows (fetch limit + 1 to learn whether more follow), through widening time windows. */
export async function queryEvents(db: Queryable, projectIds: number[], f: EventFilters, after: CursorPosition | null, limit: number): Promise<EventRow[]> {
  if (projectIds.length === 0) return [];
  return newestFirst({ since: f.since, until: f.until, after }, limit, (since) => queryWindow(db, projectIds, { ...f, since }, after, limit));
}

async function queryWindow(db: Queryable, projectIds: number[], f: EventFilters, after: CursorPosition | null, limit: number): Promise<EventRow[]> {
  const params: unknown[] = [];
  const where = conditions(f, after, params);
  params.push(limit);
  const limitParam = `$${params.length}`;
  if (projectIds.length === 1) {
    params.push(projectIds[0]);
    const text = `select ${COLUMNS} from events where project_id = $${params.length}${where.map((w) => ` and ${w}`).join('')}
      order by timestamp desc, event_id desc limit ${limitParam}`;
    return (await db.query<EventRow>(text, params)).rows;
  }
  params.push(projectIds);
  const text = `select page.* from unnest($${params.length}::bigint[]) as p(id) cross join lateral (
      select ${COLUMNS}, event_id as sort_id from events where project_id = p.id${where.map((w) => ` and ${w}`).join('')}
      order by timestamp desc, event_id desc limit ${limitParam}
    ) page order by page.timestamp desc, page.sort_id desc limit ${limitParam}`;
  return (await db.query<EventRow>(text, params)).rows;
}

/** One event by id within the given projects, with its raw payload. */
export async function findEvent(db: Queryable, projectIds: number[], eventId: string): Promise<(EventRow & { raw: Buffer }) | null> {
  if (projectIds.length === 0) return null;
  const { rows } = await db.query<EventRow & { raw: Buffer }>(
    `select ${columns('e.')}, e.raw from event_ids i
     join events e on e.project_id = i.project_id and e.event_id = i.event_id and e.timestamp = i.timestamp
     where i.project_id = any($1::bigint[]) and i.event_id = $2::uuid`,
    [projectIds, eventId],
  );
  return rows[0] ?? null;
}

export type EventOut = z.output<typeof eventSchema>;

export function toEvent(r: EventRow): EventOut {
  const user = r.user_id ?? r.user_email ?? r.user_username ?? r.user_ip_address;
  return {
    id: r.id,
    project_id: r.project_id,
    timestamp: r.timestamp.toISOString(),
    received_at: r.received_at.toISOString(),
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
    user: user === null ? null : { id: r.user_id, email: r.user_email, username: r.user_username, ip_address: r.user_ip_address },
    fingerprint: r.fingerprint,
    client_ip: r.client_ip,
    sdk_name: r.sdk_name,
    sdk_version: r.sdk_version,
    attributes: r.attributes,
  };
}

export function toEventDetail(r: EventRow & { raw: Buffer }): z.output<typeof eventDetailSchema> {
  const text = r.raw.toString('utf8');
  let raw: unknown = text;
  try {
    raw = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { ...toEvent(r), raw };
}

export const eventPosition = (r: EventRow): CursorPosition => ({ timeUs: BigInt(r.position_us), id: r.id });
