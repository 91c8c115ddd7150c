import type { Pool, Queryable } from './pool';
import { withTransaction } from './pool';

/**
 * Alerts and the outbox of their events.
 *
 * The rule workers insert detections (`insertDetectedAlerts`, inside their own transaction); the
 * API lists, reads, acknowledges and resolves them. Every change writes, in the same transaction,
 * one row to `alert_events` — the record that vigil.alerts.v1 will carry — and wakes the publisher
 * (channel `vigil_alert_events`), which sends it to Kafka. So an acknowledgement committed here is
 * published even if the process that made it dies a moment later, and a detection inserted twice
 * (replay, restart, rebalance) is neither stored nor announced twice — also when, found again in
 * another arrival order or without the detection state, it comes in a neighbouring window and so
 * under another id (see `dedupe_ms`).
 */
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';
export type AlertEventType = 'alert.created' | 'alert.updated' | 'alert.resolved';
export type AlertSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export const ALERT_EVENTS_CHANNEL = 'vigil_alert_events';

export interface StoredAlert {
  id: string;
  organization_id: number;
  project_id: number;
  rule_id: string;
  rule_version: number;
  rule_name: string;
  severity: AlertSeverity;
  status: AlertStatus;
  title: string;
  summary: string;
  group_key: string;
  group_values: Record<string, string>;
  window_start: Date;
  window_end: Date;
  value: number;
  threshold: number;
  first_seen: Date;
  last_seen: Date;
  detected_at: Date;
  evidence: unknown;
  tags: string[];
  created_at: Date;
  updated_at: Date;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
}

/** A detection as the rule engine reports it (times in ms since the epoch). */
export interface DetectedAlert {
  id: string;
  project_id: number;
  rule_id: string;
  rule_version: number;
  rule_name: string;
  severity: AlertSeverity;
  title: string;
  summary: string;
  group_key: string;
  group_values: Record<string, string>;
  window_start_ms: number;
  window_end_ms: number;
  value: number;
  threshold: number;
  first_seen_ms: number;
  last_seen_ms: number;
  detected_at_ms: number;
  evidence: unknown;
  tags: string[];
  /**
   * Alerts of the same rule, project and group whose windows end less than this apart are one
   * detection (the rule engine's `dedupe_ms`: the rule's window or suppression interval, whichever
   * is longer); such a detection is stored once. Absent or 0: only the id identifies a detection.
   */
  dedupe_ms?: number;
}

/** What vigil.alerts.v1 carries (`AlertRecord` of @vigil/contracts). */
export interface AlertEventRecord {
  event_type: AlertEventType;
  id: string;
  rule_id: string;
  rule_version: number;
  project_id: number;
  severity: AlertSeverity;
  status: AlertStatus;
  title: string;
  summary: string;
  group_key: string;
  group_values: Record<string, string>;
  window_start_ms: number;
  window_end_ms: number;
  value: number;
  threshold: number;
  first_seen_ms: number;
  last_seen_ms: number;
  evidence: unknown;
  tags: string[];
  created_at_ms: number;
  updated_at_ms: number;
  actor: string | null;
}

export interface PendingAlertEvent {
  id: string;
  seq: number;
  alert_id: string;
  event_type: AlertEventType;
  record: AlertEventRecord;
  attempted_at: Date | null;
}

const COLUMNS = `id, organization_id, project_id, rule_id, rule_version, rule_name, severity, status, title, summary,
  group_key, group_values, window_start, window_end, value, threshold, first_seen, last_seen, detected_at, evidence, tags,
  created_at, updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by`;

/** The identity of an alert event as webhook receivers see it (`webhook-id` derives from it). */
export function alertEventId(alertId: string, eventType: AlertEventType, updatedAtMs: number): string {
  return eventType === 'alert.created' ? `alert:${alertId}:created` : `alert:${alertId}:${eventType.slice('alert.'.length)}:${updatedAtMs}`;
}

export function alertEventRecord(alert: StoredAlert, eventType: AlertEventType, actor: string | null = null): AlertEventRecord {
  return {
    event_type: eventType,
    id: alert.id,
    rule_id: alert.rule_id,
    rule_version: alert.rule_version,
    project_id: alert.project_id,
    severity: alert.severity,
    status: alert.status,
    title: alert.title,
    summary: alert.summary,
    group_key: alert.group_key,
    group_values: alert.group_values,
    window_start_ms: alert.window_start.getTime(),
    window_end_ms: alert.window_end.getTime(),
    value: alert.value,
    threshold: alert.threshold,
    first_seen_ms: alert.first_seen.getTime(),
    last_seen_ms: alert.last_seen.getTime(),
    evidence: alert.evidence,
    tags: alert.tags,
    created_at_ms: alert.created_at.getTime(),
    updated_at_ms: alert.updated_at.getTime(),
    actor,
  };
}

/** PostgreSQL text and jsonb cannot hold U+0000; group values and evidence come from senders. */
function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value) as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[withoutNul(k)] = withoutNul(v);
    return out as T;
  }
  return value;
}

async function enqueueEvents(db: Queryable, events: AlertEventRecord[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `insert into alert_events (id, alert_id, event_type, record)
     select e.id, e.alert_id, e.event_type, e.record from jsonb_to_recordset($1::jsonb) as e(id text, alert_id text, event_type text, record jsonb)
     on conflict (id) do nothing`,
    [JSON.stringify(events.map((r) => ({ id: alertEventId(r.id, r.event_type, r.updated_at_ms), alert_id: r.id, event_type: r.event_type, record: r })))],
  );
  await db.query('select pg_notify($1, $2)', [ALERT_EVENTS_CHANNEL, String(events.length)]);
}

/** Milliseconds since the epoch as an exact timestamptz (interval arithmetic is in whole microseconds). */
const ms = (column: string) => `(timestamptz 'epoch' + ${column} * interval '1 millisecond')`;

export interface InsertedAlerts {
  /** Alerts that did not exist yet: each has one `alert.created` event queued. */
  created: StoredAlert[];
  /** Ids of detections already stored: under this id, or (`dedupe_ms`) under another one. */
  duplicates: string[];
  /** Ids whose project no longer exists. */
  unknownProject: string[];
}

const dedupes = (a: DetectedAlert): boolean => (a.dedupe_ms ?? 0) > 0;
const detectionKey = (a: DetectedAlert): string => `${a.project_id}\u001f${a.rule_id}\u001f${a.group_key}`;

/** Drops each detection that an earlier one of the list already is (same id, or within `dedupe_ms`). */
function oneDetectionEach(detected: readonly DetectedAlert[]): DetectedAlert[] {
  const kept: DetectedAlert[] = [];
  const byKey = new Map<string, DetectedAlert[]>();
  const ids = new Set<string>();
  for (const a of detected) {
    if (ids.has(a.id)) continue;
    if (dedupes(a)) {
      const key = detectionKey(a);
      const same = byKey.get(key);
      if (same?.some((b) => Math.abs(b.window_end_ms - a.window_end_ms) < Math.max(a.dedupe_ms ?? 0, b.dedupe_ms ?? 0))) continue;
      if (same === undefined) byKey.set(key, [a]);
      else same.push(a);
    }
    ids.add(a.id);
    kept.push(a);
  }
  return kept;
}

/**
 * Inserts detections; a detection already stored is left as it is: one with the same id, or, for a
 * detection with `dedupe_ms`, an alert of the same rule, project and group whose window ends less
 * than `dedupe_ms` from this one's. Run it inside the transaction that also records how far the
 * input was processed, so the alerts and that position are durable together. Queues `alert.created`
 * for each new alert (and nothing for a detection skipped).
 */
export async function insertDetectedAlerts(db: Queryable, detected: readonly DetectedAlert[]): Promise<InsertedAlerts> {
  const result: InsertedAlerts = { created: [], duplicates: [], unknownProject: [] };
  if (detected.length === 0) return result;
  const unique = oneDetectionEach(detected.map(withoutNul));
  const keys = [...new Set(unique.filter(dedupes).map(detectionKey))];
  if (keys.length > 0) {
    // Writers of the same group (a worker fenced off but still finishing, a replay beside the live
    // stage) take turns, so each sees what the other stored; in one order, so they never deadlock.
    await db.query(
      `select pg_advisory_xact_lock(hashtext('vigil.alerts.detection'), h)
       from (select distinct hashtext(k) as h from unnest($1::text[]) as k order by 1) s`,
      [keys],
    );
  }
  const { rows } = await db.query<StoredAlert>(
    `with input as (
       select * from jsonb_to_recordset($1::jsonb) as a(
         id text, project_id bigint, rule_id text, rule_version integer, rule_name text, severity text, title text, summary text,
         group_key text, group_values jsonb, window_start_ms bigint, window_end_ms bigint, value float8, threshold float8,
         first_seen_ms bigint, last_seen_ms bigint, detected_at_ms bigint, evidence jsonb, tags text[], dedupe_ms bigint)
     )
     insert into alerts (id, organization_id, project_id, rule_id, rule_version, rule_name, severity, title, summary, group_key,
       group_values, window_start, window_end, value, threshold, first_seen, last_seen, detected_at, evidence, tags)
     select a.id, p.organization_id, a.project_id, a.rule_id, a.rule_version, a.rule_name, a.severity, a.title, a.summary, a.group_key,
       coalesce(a.group_values, '{}'), ${ms('a.window_start_ms')}, ${ms('a.window_end_ms')}, a.value, a.threshold,
       ${ms('a.first_seen_ms')}, ${ms('a.last_seen_ms')}, ${ms('a.detected_at_ms')}, coalesce(a.evidence, 'null'), coalesce(a.tags, '{}')
     from input a join projects p on p.id = a.project_id
     where coalesce(a.dedupe_ms, 0) <= 0 or not exists (
       select 1 from alerts x
       where x.project_id = a.project_id and x.rule_id = a.rule_id and md5(x.group_key) = md5(a.group_key) and x.group_key = a.group_key
         and x.window_end > ${ms('(a.window_end_ms - a.dedupe_ms)')} and x.window_end < ${ms('(a.window_end_ms + a.dedupe_ms)')})
     on conflict (id) do nothing
     returning ${COLUMNS}`,
    [JSON.stringify(unique)],
  );
  result.created = rows;
  const created = new Set(rows.map((r) => r.id));
  const missing = [...new Map(detected.filter((a) => !created.has(a.id)).map((a) => [a.id, a])).values()];
  if (missing.length > 0) {
    const projects = await db.query<{ id: string }>('select id::text from projects where id = any($1::bigint[])', [[...new Set(missing.map((a) => a.project_id))]]);
    const known = new Set(projects.rows.map((r) => Number(r.id)));
    for (const a of missing) (known.has(a.project_id) ? result.duplicates : result.unknownProject).push(a.id);
  }
  await enqueueEvents(db, rows.map((a) => alertEventRecord(a, 'alert.created')));
  return result;
}

export async function getAlert(db: Queryable, organizationId: number, alertId: string): Promise<StoredAlert | null> {
  const { rows } = await db.query<StoredAlert>(`select ${COLUMNS} from alerts where organization_id = $1 and id = $2`, [organizationId, alertId]);
  return rows[0] ?? null;
}

export interface AlertFilter {
  organizationId: number;
  projectIds?: number[];
  status?: AlertStatus[];
  severity?: AlertSeverity[];
  ruleId?: string;
  /** created_at bounds: since inclusive, until exclusive. */
  since?: Date;
  until?: Date;
}

function filterClause(f: AlertFilter, params: unknown[]): string {
  const where = ['organization_id = $1'];
  params.push(f.organizationId);
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  if (f.projectIds !== undefined) add('project_id = any(?::bigint[])', f.projectIds);
  if (f.status !== undefined) add('status = any(?::text[])', f.status);
  if (f.severity !== undefined) add('severity = any(?::text[])', f.severity);
  if (f.ruleId !== undefined) add('rule_id = ?', f.ruleId);
  if (f.since !== undefined) add('created_at >= ?', f.since);
  if (f.until !== undefined) add('created_at < ?', f.until);
  return where.join(' and ');
}

/**
 * Alerts newest first, ordered by (created_at, id) descending. Keyset pagination: pass the last
 * row's position as `after` ({ timeUs: created_at in µs, id }); fetch limit + 1 to learn whether
 * there is more. `offset` serves page-based lists.
 */
export async function listAlerts(
  db: Queryable,
  filter: AlertFilter & { after?: { timeUs: bigint; id: string }; limit?: number; offset?: number },
): Promise<StoredAlert[]> {
  const params: unknown[] = [];
  let clause = filterClause(filter, params);
  if (filter.after !== undefined) {
    params.push(new Date(Number(filter.after.timeUs / 1000n)), filter.after.id);
    clause += ` and (created_at, id) < ($${params.length - 1}, $${params.length})`;
  }
  params.push(filter.limit ?? 50, filter.offset ?? 0);
  const { rows } = await db.query<StoredAlert>(
    `select ${COLUMNS} from alerts where ${clause} order by created_at desc, id desc limit $${params.length - 1} offset $${params.length}`,
    params,
  );
  return rows;
}

export async function countAlerts(db: Queryable, filter: AlertFilter): Promise<number> {
  const params: unknown[] = [];
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from alerts where ${filterClause(filter, params)}`, params);
  return rows[0]!.n;
}

/** The keyset position of an alert for `listAlerts({ after })`. */
export function alertPosition(alert: Pick<StoredAlert, 'created_at' | 'id'>): { timeUs: bigint; id: string } {
  return { timeUs: BigInt(alert.created_at.getTime()) * 1000n, id: alert.id };
}

/** An acknowledgement of a resolved alert. */
export class AlertStateError extends Error {
  constructor(readonly alertId: string, readonly status: AlertStatus) {
    super(`alert ${alertId} is ${status}`);
    this.name = 'AlertStateError';
  }
}

export interface AlertChange {
  alert: StoredAlert;
  /** False when the alert already was in the requested state (nothing written, nothing published). */
  changed: boolean;
}

async function transition(
  pool: Pool,
  organizationId: number,
  alertId: string,
  actor: string | null,
  target: 'acknowledged' | 'resolved',
): Promise<AlertChange | null> {
  return withTransaction(pool, async (db) => {
    const { rows } = await db.query<StoredAlert>(`select ${COLUMNS} from alerts where organization_id = $1 and id = $2 for update`, [organizationId, alertId]);
    const alert = rows[0];
    if (alert === undefined) return null;
    if (alert.status === target) return { alert, changed: false };
    if (target === 'acknowledged' && alert.status === 'resolved') throw new AlertStateError(alertId, alert.status);
    // Strictly later than the previous change, so every event of one alert has its own time (and id).
    const at = "greatest(date_trunc('milliseconds', now()), updated_at + interval '1 millisecond')";
    const set = target === 'acknowledged' ? `acknowledged_at = ${at}, acknowledged_by = $3` : `resolved_at = ${at}, resolved_by = $3`;
    const updated = await db.query<StoredAlert>(
      `update alerts set status = $4, updated_at = ${at}, ${set} where organization_id = $1 and id = $2 returning ${COLUMNS}`,
      [organizationId, alertId, actor, target],
    );
    const next = updated.rows[0]!;
    await enqueueEvents(db, [alertEventRecord(next, target === 'resolved' ? 'alert.resolved' : 'alert.updated', actor)]);
    return { alert: next, changed: true };
  });
}

/**
 * Acknowledges an open alert and queues `alert.updated`. An acknowledged alert is returned
 * unchanged; a resolved one throws AlertStateError. Null when the organization has no such alert.
 */
export function acknowledgeAlert(pool: Pool, organizationId: number, alertId: string, actor: string | null = null): Promise<AlertChange | null> {
  return transition(pool, organizationId, alertId, actor, 'acknowledged');
}

/** Resolves an open or acknowledged alert and queues `alert.resolved`; a resolved one is returned unchanged. */
export function resolveAlert(pool: Pool, organizationId: number, alertId: string, actor: string | null = null): Promise<AlertChange | null> {
  return transition(pool, organizationId, alertId, actor, 'resolved');
}

/** The events of one alert, oldest first, with whether each has been published. */
export async function listAlertEvents(
  db: Queryable,
  organizationId: number,
  alertId: string,
): Promise<Array<{ id: string; event_type: AlertEventType; record: AlertEventRecord; created_at: Date; published_at: Date | null }>> {
  const { rows } = await db.query(
    `select e.id, e.event_type, e.record, e.created_at, e.published_at from alert_events e join alerts a on a.id = e.alert_id
     where a.organization_id = $1 and e.alert_id = $2 order by e.seq`,
    [organizationId, alertId],
  );
  return rows as never;
}

// ── the publisher's side of the outbox ──────────────────────────────────────────────────────

/** Events not yet confirmed published, oldest first. */
export async function pendingAlertEvents(db: Queryable, limit = 500): Promise<PendingAlertEvent[]> {
  const { rows } = await db.query<PendingAlertEvent>(
    `select id, seq, alert_id, event_type, record, attempted_at from alert_events where published_at is null order by seq limit $1`,
    [limit],
  );
  return rows;
}

/**
 * Recorded before a publish is tried: after a crash, such rows are checked against the topic first,
 * from the first attempt on (a later attempt never moves the time forward, so an early send that did
 * reach the topic is still found).
 */
export async function markAlertEventsAttempted(db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await db.query('update alert_events set attempted_at = coalesce(attempted_at, now()) where id = any($1::text[])', [ids]);
}

export async function markAlertEventsPublished(db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await db.query('update alert_events set published_at = now() where id = any($1::text[]) and published_at is null', [ids]);
}
