import type { Queryable } from '@vigil/db';
import type { z } from 'zod';
import { positionTimestamp, type CursorPosition } from '../../http/cursor';
import { noProjects, projectIdsSql, soleProject, type ProjectScope } from '../list-filters';
import { DAY_WEEK_ALL, HOUR_DAY_WEEK_ALL, newestFirst } from '../widening-window';
import type { EventFilters, eventDetailSchema, eventSchema } from './event-schemas';

/**
 * The SQL behind /v1/events: keyset pages newest first on (timestamp, event_id).
 *
 * Each project (and each class and severity asked for) is read on its own through the
 * (project_id[, class[, severity]|severity|type], timestamp desc) indexes, which return rows already in
 * time order, newest partition first, so a page costs about `limit` index entries per combination
 * however many events are stored; the pieces are then merged. Full-text search goes through the GIN
 * index instead (see queryWindow). `timestamp <= cursor time` is repeated beside the row comparison so the index bounds the
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


/**
 * The conditions besides the project (and the class and severity values a query enumerates, see
 * queryWindow), as SQL with their parameters.
 */
function conditions(f: EventFilters, after: CursorPosition | null, params: unknown[], enumerated: { class: boolean; severity: boolean }): string[] {
  const add = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (f.class && !enumerated.class) where.push(f.class.length === 1 ? `class = ${add(f.class[0])}` : `class = any(${add(f.class)}::text[])`);
  if (f.severity && !enumerated.severity) where.push(f.severity.length === 1 ? `severity = ${add(f.severity[0])}` : `severity = any(${add(f.severity)}::text[])`);
  if (f.type !== undefined) where.push(`type = ${add(f.type)}`);
  if (f.since) where.push(`timestamp >= ${add(f.since)}`);
  if (f.until) where.push(`timestamp < ${add(f.until)}`);
  if (f.q !== undefined) where.push(`search @@ websearch_to_tsquery('simple', ${add(f.q)})`);
  if (after) {
    const t = `${add(positionTimestamp(after.timeUs))}::timestamptz`;
    const id = add(after.id);
    where.push(`timestamp <= ${t}`, `(timestamp, event_id) < (${t}, ${id}::uuid)`);
  }
  return where;
}

/** One page: `limit` rows (fetch limit + 1 to learn whether more follow), through widening time windows. */
export async function queryEvents(db: Queryable, projectIds: ProjectScope, f: EventFilters, after: CursorPosition | null, limit: number): Promise<EventRow[]> {
  if (noProjects(projectIds)) return [];
  // Full-text matches come from the GIN index in no time order: a narrower first window bounds the work of a frequent word.
  const spans = f.q !== undefined ? HOUR_DAY_WEEK_ALL : DAY_WEEK_ALL;
  return newestFirst({ since: f.since, until: f.until, after }, limit, (since) => queryWindow(db, projectIds, { ...f, since }, after, limit), Date.now(), spans);
}

/** A page row rendered by PostgreSQL: the event's JSON (as toEvent shapes it) and its cursor position. */
export interface RenderedEventRow {
  json: string;
  id: string;
  position_us: string;
}

/** The timestamp as Date.prototype.toISOString writes it (UTC, milliseconds, `Z`). */
export const isoSql = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The Event object of the OpenAPI document, field for field as toEvent builds it, from a row of COLUMNS named `page`. */
const EVENT_JSON = `(select row_to_json(j) from (select page.id, page.project_id, ${isoSql('page.timestamp')} as "timestamp",
  ${isoSql('page.received_at')} as received_at, page.source, page.class, page.severity, page.type, page.message, page.exception_type,
  page.exception_value, page.platform, page.release, page.environment, page.tags,
  case when coalesce(page.user_id, page.user_email, page.user_username, page.user_ip_address) is null then null
    else json_build_object('id', page.user_id, 'email', page.user_email, 'username', page.user_username, 'ip_address', page.user_ip_address) end as "user",
  page.fingerprint, page.client_ip, page.sdk_name, page.sdk_version, page.attributes) j)::text as json`;

/**
 * The same page as queryEvents, rendered to JSON by PostgreSQL (the list endpoint splices the texts
 * into its response: no row parsing, no Date objects, no serialisation in the API process).
 */
export async function queryEventsRendered(db: Queryable, projectIds: ProjectScope, f: EventFilters, after: CursorPosition | null, limit: number): Promise<RenderedEventRow[]> {
  if (noProjects(projectIds)) return [];
  const spans = f.q !== undefined ? HOUR_DAY_WEEK_ALL : DAY_WEEK_ALL;
  return newestFirst(
    { since: f.since, until: f.until, after },
    limit,
    async (since) => (await db.query<RenderedEventRow>(...windowQuery(projectIds, { ...f, since }, after, limit, true))).rows,
    Date.now(),
    spans,
  );
}

/**
 * Without `q`, every combination of project, class and severity asked for is read on its own, newest
 * first through the (project_id, class[, severity], timestamp desc) or (project_id, severity,
 * timestamp desc) index, `limit` rows each, and the pieces are merged: rows of one combination come
 * out of the index already in time order, so the page costs about `limit` index entries per
 * combination, however rare the combination is among the stored events.
 *
 * With `q`, the GIN index on the search vector finds the matches (of every project at once, in the
 * window) and the newest `limit` are sorted out of them.
 */
async function queryWindow(db: Queryable, projectIds: ProjectScope, f: EventFilters, after: CursorPosition | null, limit: number): Promise<EventRow[]> {
  return (await db.query<EventRow>(...windowQuery(projectIds, f, after, limit, false))).rows;
}

/** The SQL text and parameters of one window's page; `rendered`: each row as its JSON text, cursor position and id. */
function windowQuery(projectIds: ProjectScope, f: EventFilters, after: CursorPosition | null, limit: number, rendered: boolean): [string, unknown[]] {
  const params: unknown[] = [];
  const wrap = (text: string): [string, unknown[]] =>
    rendered ? [`select page.id, page.position_us, ${EVENT_JSON} from (${text}) page order by page.timestamp desc, page.sort_id desc`, params] : [text, params];
  const search = f.q !== undefined;
  const enumerated = { class: !search && f.class !== undefined, severity: !search && f.severity !== undefined };
  const where = conditions(f, after, params, enumerated);
  params.push(limit);
  const limitParam = `$${params.length}`;
  const sole = soleProject(projectIds);
  const projectCombinations = search || sole !== undefined ? 1 : Number.POSITIVE_INFINITY;
  const combinations = projectCombinations * (enumerated.class ? f.class!.length : 1) * (enumerated.severity ? f.severity!.length : 1);
  if (combinations === 1) {
    if (enumerated.class) where.push(`class = $${params.push(f.class![0])}`);
    if (enumerated.severity) where.push(`severity = $${params.push(f.severity![0])}`);
    const project = sole !== undefined ? `project_id = $${params.push(sole)}` : `project_id = any(${projectIdsSql(projectIds, params)})`;
    const text = `select ${COLUMNS}, event_id as sort_id from events where ${project}${where.map((w) => ` and ${w}`).join('')}
      order by timestamp desc, event_id desc limit ${limitParam}`;
    return wrap(text);
  }
  const from = [`unnest(${projectIdsSql(projectIds, params)}) as p(id)`];
  const match = ['project_id = p.id'];
  if (enumerated.class) {
    from.push(`unnest($${params.push(f.class)}::text[]) as c(v)`);
    match.push('class = c.v');
  }
  if (enumerated.severity) {
    from.push(`unnest($${params.push(f.severity)}::text[]) as s(v)`);
    match.push('severity = s.v');
  }
  const text = `select page.* from ${from.join(' cross join ')} cross join lateral (
      select ${COLUMNS}, event_id as sort_id from events where ${[...match, ...where].join(' and ')}
      order by timestamp desc, event_id desc limit ${limitParam}
    ) page order by page.timestamp desc, page.sort_id desc limit ${limitParam}`;
  return wrap(text);
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

export const eventPosition = (r: Pick<EventRow, 'position_us' | 'id'>): CursorPosition => ({ timeUs: BigInt(r.position_us), id: r.id });
