import type { EventRecord } from '@vigil/contracts';
import type { Queryable } from '@vigil/db';
import { EVENT_ROW_COLUMNS, toRecordset } from './event-rows';

/**
 * Writes a batch of events in one statement, idempotently:
 *
 * 1. `event_ids` gets every (project_id, event_id) of the batch, `on conflict do nothing`, and
 *    returns those that were new;
 * 2. only those rows go into `events`.
 *
 * Both happen in one statement, so in one transaction: an event id is registered exactly when its
 * row is written. Redelivered records (a store restarted before committing offsets) and events a
 * sender retried, even with another timestamp and so in another partition, are skipped. The batch
 * must not repeat an id (the caller keeps the first).
 */
const INSERT_SQL = `
with incoming as (
  select * from json_to_recordset($1::json) as t(${EVENT_ROW_COLUMNS})
), fresh as (
  insert into event_ids (project_id, event_id, timestamp)
  select project_id, event_id, to_timestamp(timestamp_ms / 1000) from incoming
  on conflict do nothing
  returning project_id, event_id
)
insert into events (
  project_id, event_id, timestamp, received_at, source, class, severity, type, message,
  exception_type, exception_value, platform, release, environment, tags, user_id, user_email,
  user_username, user_ip_address, fingerprint, client_ip, sdk_name, sdk_version, attributes, raw
)
select
  i.project_id, i.event_id, to_timestamp(i.timestamp_ms / 1000), to_timestamp(i.received_at_ms / 1000),
  i.source, i.class, i.severity, i.type, i.message, i.exception_type, i.exception_value, i.platform,
  i.release, i.environment, i.tags, i.user_id, i.user_email, i.user_username, i.user_ip_address,
  i.fingerprint, i.client_ip, i.sdk_name, i.sdk_version, i.attributes, decode(i.raw, 'base64')
from incoming i join fresh f using (project_id, event_id)
on conflict do nothing`;

/** Inserts the events; returns how many rows were new. */
export async function insertEvents(db: Queryable, records: readonly EventRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  const result = await db.query({ name: 'vigil-insert-events', text: INSERT_SQL, values: [toRecordset(records)] });
  return result.rowCount ?? 0;
}

/** PostgreSQL's answer when no partition covers a row: a missing partition, not a bad row. */
export function isMissingPartition(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === '23514' && /no partition of relation/.test(e.message ?? '');
}

/**
 * Errors caused by the data of some row (invalid text, a check constraint, a value too large for an
 * index), as opposed to the database being unavailable: retrying the same rows cannot succeed.
 */
export function isRowError(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  if (typeof code !== 'string' || isMissingPartition(error)) return false;
  return code.startsWith('22') || code.startsWith('23') || code.startsWith('54');
}

export interface RejectedRow {
  record: EventRecord;
  index: number;
  error: Error;
}

/**
 * Inserts the batch; when PostgreSQL refuses it because of some row's data, splits it in halves
 * until the refused rows are alone, inserts the rest, and returns the refused rows. Other errors
 * (connection lost, missing partition) are thrown for the caller to retry.
 */
export async function insertIsolatingBadRows(
  db: Queryable,
  records: readonly EventRecord[],
  offset = 0,
): Promise<{ inserted: number; rejected: RejectedRow[] }> {
  try {
    return { inserted: await insertEvents(db, records), rejected: [] };
  } catch (error) {
    if (!isRowError(error)) throw error;
    if (records.length === 1) {
      return { inserted: 0, rejected: [{ record: records[0] as EventRecord, index: offset, error: error as Error }] };
    }
    const half = Math.ceil(records.length / 2);
    const left = await insertIsolatingBadRows(db, records.slice(0, half), offset);
    const right = await insertIsolatingBadRows(db, records.slice(half), offset + half);
    return { inserted: left.inserted + right.inserted, rejected: [...left.rejected, ...right.rejected] };
  }
}
