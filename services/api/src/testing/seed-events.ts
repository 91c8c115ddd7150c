import { randomBytes } from 'node:crypto';
import type { Queryable } from '@vigil/db';

export interface SeedEvent {
  id?: string;
  projectId: number;
  timestamp: Date;
  class?: 'security' | 'network' | 'audit' | 'error';
  severity?: 'critical' | 'high' | 'medium' | 'low' | 'info';
  type?: string;
  message?: string | null;
}

/** Writes events as the store does (a daily partition, the row and its id registry entry); returns their ids. */
export async function seedEvents(db: Queryable, events: SeedEvent[]): Promise<string[]> {
  if (events.length === 0) return [];
  const times = events.map((e) => e.timestamp.getTime());
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  await db.query('select vigil_ensure_daily_partitions($1::regclass, $2::date, $3::date)', ['events', day(Math.min(...times)), day(Math.max(...times))]);
  const rows = events.map((e) => ({
    project_id: e.projectId,
    event_id: e.id ?? randomBytes(16).toString('hex'),
    timestamp: e.timestamp.toISOString(),
    class: e.class ?? 'security',
    severity: e.severity ?? 'high',
    type: e.type ?? 'auth.login_failed',
    message: e.message === undefined ? 'login failed for alice' : e.message,
  }));
  await db.query(
    `with input as (
       select * from json_to_recordset($1::json) as r(project_id bigint, event_id uuid, timestamp timestamptz, class text, severity text, type text, message text)
     ), ids as (
       insert into event_ids (project_id, event_id, timestamp) select project_id, event_id, timestamp from input returning 1
     )
     insert into events (project_id, event_id, timestamp, received_at, source, class, severity, type, message, tags, fingerprint,
       user_id, client_ip, attributes, raw)
     select project_id, event_id, timestamp, timestamp + interval '1 second', 'native', class, severity, type, message, '{"host":"web-1"}',
       '{}', 'u-1', '198.51.100.7', '{"attempts":3}', convert_to(json_build_object('type', type, 'message', message)::text, 'UTF8')
     from input`,
    [JSON.stringify(rows)],
  );
  return rows.map((r) => r.event_id);
}
