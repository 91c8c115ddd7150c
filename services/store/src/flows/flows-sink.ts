import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Pool } from '@vigil/db';
import type { BatchContext, TopicCodec } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { DailyPartitions, DAY_MS, utcDay } from '../daily-partitions';
import type { DeadLetters, Poison } from '../dead-letters';
import { isMissingPartition } from '../events/event-insert';
import type { Sink } from '../sink';
import type { StoreMetrics } from '../store-metrics';
import { FlowRecordDecoder } from './flow-decoding';
import { flowId } from './flow-identity';
import { writeIsolatingBadRows, type StoredFlow } from './flow-insert';
import { ROLLUP_TABLES } from './flow-rollups';

export interface FlowsSinkOptions {
  pool: Pool;
  codec: TopicCodec<'flows'>;
  registry: SchemaRegistry;
  deadLetters: DeadLetters;
  metrics: StoreMetrics;
  logger: Logger;
  /** Days of raw flows kept (by flow end); older flows are neither stored nor rolled up. */
  retentionDays: number;
  /** Days of one-minute rollups kept. */
  rollupRetentionDays: number;
  /** Daily partitions created ahead of today; flows that end later than that are skipped. */
  aheadDays: number;
  now?: () => number;
}

const SINK = 'flows';

/**
 * `vigil.flows.v1` → the `flows` table and its one-minute rollups. Per partition batch: decode
 * (poison to the dead-letter topic), skip flows that ended before the retention or after the
 * partitions ahead (an exporter clock far off), keep the first of repeated records, make sure the
 * days' partitions exist, write flows and rollups in one transaction (rows PostgreSQL refuses are
 * isolated and dead-lettered), and only then return, so offsets are committed after the rows.
 */
export function createFlowsSink(o: FlowsSinkOptions): Sink {
  if (o.rollupRetentionDays < o.retentionDays) {
    throw new RangeError(
      `flow rollups must be kept at least as long as raw flows (VIGIL_FLOW_ROLLUP_RETENTION_DAYS=${o.rollupRetentionDays} < VIGIL_FLOW_RETENTION_DAYS=${o.retentionDays})`,
    );
  }
  const now = o.now ?? Date.now;
  const decoder = new FlowRecordDecoder(o.codec, o.registry);
  const daily = (table: string, retentionDays: number) =>
    new DailyPartitions({
      pool: o.pool,
      table,
      retentionDays,
      aheadDays: o.aheadDays,
      logger: o.logger,
      created: o.metrics.partitionsCreated,
      dropped: o.metrics.partitionsDropped,
    });
  const flowsTable = daily('flows', o.retentionDays);
  const rollupTables = Object.values(ROLLUP_TABLES).flatMap((t) => [daily(t.table, o.rollupRetentionDays), daily(t.hourlyTable, o.rollupRetentionDays)]);
  const allTables = [flowsTable, ...rollupTables];
  const skipped = (reason: string, n: number) => {
    if (n > 0) o.metrics.skipped.inc({ sink: SINK, reason }, n);
  };

  async function write(batch: BatchContext): Promise<void> {
    const stopTimer = o.metrics.batchSeconds.startTimer({ sink: SINK });
    const poison: Poison[] = [];
    const flows: StoredFlow[] = [];
    const messageOf: Array<Poison['message']> = [];
    const seen = new Set<string>();
    const nowMs = now();
    const firstKeptMs = flowsTable.firstKeptDay(nowMs) * DAY_MS;
    const lastKeptMs = (utcDay(nowMs) + o.aheadDays + 1) * DAY_MS;
    let expired = 0;
    let future = 0;
    let repeated = 0;
    for (const message of batch.messages) {
      const decoded = await decoder.decode(message);
      if (!decoded.ok) {
        poison.push({ message, reason: decoded.reason, error: decoded.error });
        continue;
      }
      const record = decoded.record;
      if (record.flow_end_ms < firstKeptMs) {
        expired++;
        continue;
      }
      if (record.flow_end_ms >= lastKeptMs) {
        future++;
        continue;
      }
      const id = flowId(record);
      if (seen.has(id)) {
        repeated++;
        continue;
      }
      seen.add(id);
      flows.push({ record, flowId: id });
      messageOf.push(message);
    }

    const days = new Set<number>();
    for (const f of flows) days.add(utcDay(f.record.flow_end_ms));
    for (const table of allTables) await table.ensure(days);
    let result;
    try {
      result = await writeIsolatingBadRows(o.pool, flows);
    } catch (error) {
      if (isMissingPartition(error)) for (const table of allTables) table.forget();
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

    const stored = flows.length - result.rejected.length;
    o.metrics.rowsWritten.inc({ sink: SINK }, result.inserted);
    skipped('duplicate', stored - result.inserted + repeated);
    skipped('older_than_retention', expired);
    skipped('flow_end_in_future', future);
    for (const p of poison) o.metrics.deadLettered.inc({ sink: SINK, reason: p.reason });
    if (poison.length > 0) {
      o.logger.warn(
        { topic: batch.topic, partition: batch.partition, poison: poison.map((p) => ({ offset: p.message.offset, reason: p.reason, error: p.error })) },
        'flow records sent to the dead-letter topic',
      );
    }
    stopTimer();
  }

  async function maintain(nowMs: number): Promise<void> {
    for (const table of allTables) await table.maintain(nowMs);
  }

  return { name: SINK, topic: o.codec.topic, write, maintain };
}
