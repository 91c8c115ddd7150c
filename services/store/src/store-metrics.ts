import { Counter, Histogram, type Registry } from '@vigil/service-runtime';

/**
 * The store's metrics, one place for all of them. Every record a sink consumes ends in exactly one
 * of: written, skipped (with a reason) or dead-lettered (with a reason).
 */
export interface StoreMetrics {
  rowsWritten: Counter<'sink'>;
  skipped: Counter<'sink' | 'reason'>;
  deadLettered: Counter<'sink' | 'reason'>;
  retries: Counter<'sink'>;
  batchSeconds: Histogram<'sink'>;
  partitionsCreated: Counter<'table'>;
  partitionsDropped: Counter<'table'>;
}

export function createStoreMetrics(registry: Registry): StoreMetrics {
  const registers = [registry];
  return {
    rowsWritten: new Counter({
      name: 'vigil_store_rows_written_total',
      help: 'Rows inserted into PostgreSQL',
      labelNames: ['sink'],
      registers,
    }),
    skipped: new Counter({
      name: 'vigil_store_records_skipped_total',
      help: 'Records consumed but not inserted, by reason (duplicate: already stored; older_than_retention)',
      labelNames: ['sink', 'reason'],
      registers,
    }),
    deadLettered: new Counter({
      name: 'vigil_store_records_deadlettered_total',
      help: 'Records that can never be stored, sent to the dead-letter topic, by reason',
      labelNames: ['sink', 'reason'],
      registers,
    }),
    retries: new Counter({
      name: 'vigil_store_batch_retries_total',
      help: 'Batches written again after a transient failure (database or registry unavailable)',
      labelNames: ['sink'],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'vigil_store_batch_duration_seconds',
      help: 'Time to decode and write one partition batch',
      labelNames: ['sink'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    partitionsCreated: new Counter({
      name: 'vigil_store_partitions_created_total',
      help: 'Daily partitions created',
      labelNames: ['table'],
      registers,
    }),
    partitionsDropped: new Counter({
      name: 'vigil_store_partitions_dropped_total',
      help: 'Daily partitions dropped by retention',
      labelNames: ['table'],
      registers,
    }),
  };
}
