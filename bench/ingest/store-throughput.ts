/**
 * Store throughput into PostgreSQL, with two baselines on the same database in the same run:
 *
 * 1. bare INSERT … SELECT FROM json_to_recordset of the same rows (the store's encoding) into a
 *    plain table (same columns; no partitions, indexes or id registry), batches of 1000 on one
 *    connection: PostgreSQL's ceiling for these rows;
 * 2. the store's own insert statement (partitioned table, five indexes, full-text, id registry),
 *    same batches, one connection, no Kafka: what the table design costs;
 * 3. the store service itself (a separate process): consume the topic, decode Avro, insert,
 *    commit offsets — rows/s from the first row to the last.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventRecord } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import { normalizeSentryEvent, parseEnvelope } from '@vigil/sentry-protocol';
import { insertEvents } from '../../services/store/src/events/event-insert';
import { EVENT_ROW_COLUMNS, toRecordset } from '../../services/store/src/events/event-rows';
import { ID_PLACEHOLDER, realisticEnvelope } from './realistic-envelope';

export interface StoreBenchResult {
  bareRowsPerSecond: number;
  statementRowsPerSecond: number;
  serviceRowsPerSecond: number;
  serviceRows: number;
  /** From process start to the last row (includes start-up and partition creation). */
  serviceTotalSeconds: number;
}

function sampleRecords(n: number): EventRecord[] {
  const envelope = realisticEnvelope('0123456789abcdef0123456789abcdef');
  const out: EventRecord[] = [];
  for (let i = 0; i < n; i++) {
    const body = Buffer.from(envelope.replaceAll(ID_PLACEHOLDER, randomBytes(16).toString('hex')));
    const parsed = parseEnvelope(body);
    out.push(
      normalizeSentryEvent((parsed.items[0] as { payload: Buffer }).payload, {
        projectId: 1,
        receivedAtMs: Date.now(),
        clientIp: '127.0.0.1',
        envelope: parsed.header,
      }),
    );
  }
  return out;
}

async function timed(rows: EventRecord[], insert: (batch: EventRecord[]) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < rows.length; i += 1000) await insert(rows.slice(i, i + 1000));
  return rows.length / ((performance.now() - started) / 1000);
}

export async function storeBaselines(pool: Pool, rows: number): Promise<{ bare: number; statement: number }> {
  const records = sampleRecords(rows);
  await pool.query('create table if not exists bench_plain (like events)');
  await pool.query('truncate bench_plain');
  const bareSql = `insert into bench_plain (project_id, event_id, timestamp, received_at, source, class, severity, type, message,
      exception_type, exception_value, platform, release, environment, tags, user_id, user_email, user_username,
      user_ip_address, fingerprint, client_ip, sdk_name, sdk_version, attributes, raw)
    select project_id, event_id, to_timestamp(timestamp_ms / 1000), to_timestamp(received_at_ms / 1000), source, class, severity,
      type, message, exception_type, exception_value, platform, release, environment, tags, user_id, user_email, user_username,
      user_ip_address, fingerprint, client_ip, sdk_name, sdk_version, attributes, decode(raw, 'base64')
    from json_to_recordset($1::json) as t(${EVENT_ROW_COLUMNS})`;
  const bare = await timed(records, (batch) => pool.query(bareSql, [toRecordset(batch)]));
  const statement = await timed(records, (batch) => insertEvents(pool, batch));
  await pool.query('drop table bench_plain');
  return { bare, statement };
}

/** Starts the store service on the topic prefix and measures until `expected` rows are stored. */
export async function storeService(o: {
  env: NodeJS.ProcessEnv;
  pool: Pool;
  expected: number;
  timeoutMs?: number;
}): Promise<{ rowsPerSecond: number; totalSeconds: number; rows: number }> {
  const main = fileURLToPath(new URL('../../services/store/src/main.ts', import.meta.url));
  const before = await count(o.pool);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', main], { env: o.env, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    let first: number | null = null;
    let firstRows = 0;
    const deadline = Date.now() + (o.timeoutMs ?? 600_000);
    for (;;) {
      const rows = (await count(o.pool)) - before;
      if (first === null && rows > 0) {
        first = performance.now();
        firstRows = rows;
      }
      if (rows >= o.expected) {
        const end = performance.now();
        return {
          rowsPerSecond: (rows - firstRows) / ((end - (first as number)) / 1000),
          totalSeconds: (end - started) / 1000,
          rows,
        };
      }
      if (Date.now() > deadline) throw new Error(`store wrote ${rows} of ${o.expected} rows in time`);
      await sleep(100);
    }
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

async function count(pool: Pool): Promise<number> {
  return (await pool.query<{ n: number }>('select count(*)::int as n from event_ids')).rows[0]?.n ?? 0;
}
