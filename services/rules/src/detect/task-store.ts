/**
 * Where a detection task's state lives: PostgreSQL, written in the same transaction as the alerts
 * the state implies and as the re-partition offset up to which it is applied.
 *
 * Because the three are one transaction, a crash anywhere leaves them consistent: either the batch's
 * alerts, state and position are all stored, or none is and the batch is applied again from the
 * previous state. Kafka's committed offset only says where fetching resumes; messages below the
 * stored position are skipped, so a batch that was stored but not committed is not applied twice.
 *
 * The stored position is also the fencing token: a write succeeds only if the row still holds the
 * position this worker loaded or last wrote. A worker whose partition was taken over (it was
 * presumed dead, then woke up) fails that check and reloads instead of overwriting newer state.
 */
import { insertDetectedAlerts, type DetectedAlert, type InsertedAlerts, type Pool, type Queryable } from '@vigil/db';
import type { StateEntry } from '@vigil/rule-engine';
import type { Origin } from '../route/repartition-message';

export interface StoredTask {
  nextOffset: number;
  origins: Map<string, Pick<Origin, 'offset' | 'index'>>;
  entries: Array<{ organizationId: number; entry: StateEntry }>;
}

export interface StateChange {
  organizationId: number;
  key: string;
  /** JSON text of the entry's value; null deletes it. */
  value: string | null;
}

/** The task's row changed under us: another worker has processed this partition since we read it. */
export class TaskFencedError extends Error {
  constructor(topic: string, partition: number, expected: number, found: number) {
    super(`detection task ${topic}[${partition}] is at offset ${found}, not ${expected}: taken over by another worker`);
    this.name = 'TaskFencedError';
  }
}

export async function loadTask(pool: Pool, topic: string, partition: number): Promise<StoredTask> {
  await pool.query('insert into rule_tasks (topic, partition, next_offset) values ($1, $2, 0) on conflict do nothing', [topic, partition]);
  const task = await pool.query<{ next_offset: number; origins: Record<string, [number, number]> }>(
    'select next_offset, origins from rule_tasks where topic = $1 and partition = $2',
    [topic, partition],
  );
  const row = task.rows[0]!;
  const state = await pool.query<{ organization_id: number; key: string; value: string }>(
    'select organization_id, key, value from rule_state where topic = $1 and partition = $2',
    [topic, partition],
  );
  const entries: StoredTask['entries'] = [];
  for (const r of state.rows) {
    let value: StateEntry['value'];
    try {
      value = JSON.parse(r.value) as StateEntry['value'];
    } catch {
      continue; // unreadable: the group starts afresh, as after a rule change
    }
    entries.push({ organizationId: r.organization_id, entry: { key: r.key, value } });
  }
  return {
    nextOffset: row.next_offset,
    origins: new Map(Object.entries(row.origins).map(([stream, [offset, index]]) => [stream, { offset, index }])),
    entries,
  };
}

export interface TaskProgress {
  topic: string;
  partition: number;
  /** The position this worker loaded or last stored (the fencing token). */
  expectedOffset: number;
  nextOffset: number;
  origins: ReadonlyMap<string, Pick<Origin, 'offset' | 'index'>>;
  /** Routed records this batch applied (added to the task's `applied_records`). */
  applied: number;
  changes: readonly StateChange[];
  alerts: readonly DetectedAlert[];
}

/** Stores one batch's outcome; run inside a transaction. Throws TaskFencedError when fenced off. */
export async function saveProgress(db: Queryable, p: TaskProgress): Promise<InsertedAlerts> {
  const { rows } = await db.query<{ next_offset: number }>(
    'select next_offset from rule_tasks where topic = $1 and partition = $2 for update',
    [p.topic, p.partition],
  );
  const found = rows[0]?.next_offset ?? -1;
  if (found !== p.expectedOffset) throw new TaskFencedError(p.topic, p.partition, p.expectedOffset, found);

  const inserted = await insertDetectedAlerts(db, p.alerts);

  const upserts = p.changes.filter((c) => c.value !== null);
  const deletes = p.changes.filter((c) => c.value === null);
  // One JSON parameter per statement: serialised natively, parsed once by PostgreSQL (state values
  // can be large, and array literals would be escaped character by character).
  if (upserts.length > 0) {
    await db.query(
      `insert into rule_state (topic, partition, organization_id, key, value)
       select $1, $2, u.o, u.k, u.v from json_to_recordset($3::json) as u(o bigint, k text, v text)
       on conflict (topic, partition, organization_id, key) do update set value = excluded.value`,
      [p.topic, p.partition, JSON.stringify(upserts.map((c) => ({ o: c.organizationId, k: c.key, v: c.value })))],
    );
  }
  if (deletes.length > 0) {
    await db.query(
      `delete from rule_state s using json_to_recordset($3::json) as d(o bigint, k text)
       where s.topic = $1 and s.partition = $2 and s.organization_id = d.o and s.key = d.k`,
      [p.topic, p.partition, JSON.stringify(deletes.map((c) => ({ o: c.organizationId, k: c.key })))],
    );
  }
  await db.query(
    'update rule_tasks set next_offset = $3, origins = $4, applied_records = applied_records + $5, updated_at = now() where topic = $1 and partition = $2',
    [p.topic, p.partition, p.nextOffset, JSON.stringify(Object.fromEntries([...p.origins].map(([s, o]) => [s, [o.offset, o.index]]))), p.applied],
  );
  return inserted;
}
