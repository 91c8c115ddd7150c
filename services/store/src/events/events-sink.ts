import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { EventRecord } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import type { BatchContext, TopicCodec } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { DailyPartitions, dayText, utcDay, DAY_MS } from '../daily-partitions';
import type { DeadLetters, Poison } from '../dead-letters';
import type { Sink } from '../sink';
import type { StoreMetrics } from '../store-metrics';
import { EventDecoder } from './event-decoding';
import { insertIsolatingBadRows, isMissingPartition } from './event-insert';

export interface EventsSinkOptions {
  pool: Pool;
  codec: TopicCodec<'events'>;
  registry: SchemaRegistry;
  deadLetters: DeadLetters;
  metrics: StoreMetrics;
  logger: Logger;
  /** `VIGIL_EVENT_RETENTION_DAYS`. */
  retentionDays: number;
  /** Daily partitions created ahead of today. */
  aheadDays: number;
  /** Clock, for tests of retention. */
  now?: () => number;
}

const SINK = 'events';

/**
 * `vigil.events.v1` → the `events` table. Per partition batch: decode (poison to the dead-letter
 * topic), drop events older than the retention (their partition is gone or about to be), keep the
 * first of repeated ids, make sure the days' partitions exist, insert idempotently (rows PostgreSQL
 * refuses are isolated and dead-lettered), and only then return, so the batch's offsets are
 * committed after its rows.
 */
export function createEventsSink(o: EventsSinkOptions): Sink {
  const now = o.now ?? Date.now;
  const decoder = new EventDecoder(o.codec, o.registry);
  const partitions = new DailyPartitions({
    pool: o.pool,
    table: 'events',
    retentionDays: o.retentionDays,
    aheadDays: o.aheadDays,
    logger: o.logger,
    created: o.metrics.partitionsCreated,
    dropped: o.metrics.partitionsDropped,
  });
  const skipped = (reason: string, n: number) => {
    if (n > 0) o.metrics.skipped.inc({ sink: SINK, reason }, n);
  };

  async function write(batch: BatchContext): Promise<void> {
    const stopTimer = o.metrics.batchSeconds.startTimer({ sink: SINK });
    const poison: Poison[] = [];
    const records: EventRecord[] = [];
    const messageOf: Array<Poison['message']> = [];
    const seen = new Set<string>();
    const firstKeptMs = partitions.firstKeptDay(now()) * DAY_MS;
    let expired = 0;
    let repeated = 0;
    for (const message of batch.messages) {
      const decoded = await decoder.decode(message);
      if (!decoded.ok) {
        poison.push({ message, reason: decoded.reason, error: decoded.error });
        continue;
      }
      const r = decoded.record;
      if (r.timestamp_ms < firstKeptMs) {
        expired++;
        continue;
      }
      const id = `${r.project_id}:${r.event_id}`;
      if (seen.has(id)) {
        repeated++;
        continue;
      }
      seen.add(id);
      records.push(r);
      messageOf.push(message);
    }

    const days = new Set<number>();
    for (const r of records) days.add(utcDay(r.timestamp_ms));
    await partitions.ensure(days);
    let result;
    try {
      result = await insertIsolatingBadRows(o.pool, records);
    } catch (error) {
      if (isMissingPartition(error)) partitions.forget();
      throw error;
    }
    for (const bad of result.rejected) {
      poison.push({
        message: messageOf[bad.index] as Poison['message'],
        reason: 'rejected_by_database',
        error: `${(bad.error as { code?: string }).code ?? ''} ${bad.error.message}`.trim(),
      });
    }
    await o.deadLetters.send(batch.topic, batch.partition, poison);

    const stored = records.length - result.rejected.length;
    o.metrics.rowsWritten.inc({ sink: SINK }, result.inserted);
    skipped('duplicate', stored - result.inserted + repeated);
    skipped('older_than_retention', expired);
    for (const p of poison) o.metrics.deadLettered.inc({ sink: SINK, reason: p.reason });
    if (poison.length > 0) {
      o.logger.warn(
        { topic: batch.topic, partition: batch.partition, poison: poison.map((p) => ({ offset: p.message.offset, reason: p.reason, error: p.error })) },
        'records sent to the dead-letter topic',
      );
    }
    stopTimer();
  }

  async function maintain(nowMs: number): Promise<void> {
    const { dropped } = await partitions.maintain(nowMs);
    // The id registry forgets ids together with the rows they point to.
    const cutoff = dayText(partitions.firstKeptDay(nowMs));
    const { rowCount } = await o.pool.query('delete from event_ids where timestamp < $1::date::timestamp at time zone \'UTC\'', [cutoff]);
    if (dropped.length > 0 || (rowCount ?? 0) > 0) {
      o.logger.info({ before: cutoff, partitions: dropped, ids: rowCount }, 'events retention applied');
    }
  }

  return { name: SINK, topic: o.codec.topic, write, maintain };
}
