import { setTimeout as sleep } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { runConsumer, type BatchContext, type ConsumerRunner } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import type { Sink } from './sink';
import type { StoreMetrics } from './store-metrics';

export interface SinkRunnerOptions {
  kafka: Kafka;
  sink: Sink;
  /** Consumer group; every store instance of one deployment uses the same one per sink. */
  groupId: string;
  logger: Logger;
  metrics: StoreMetrics;
  /** Partitions written at the same time (each batch is one database transaction). */
  concurrency: number;
  /** How often `maintain` runs after the first time. */
  maintenanceIntervalMs: number;
  /** Longest wait between two attempts at a batch while the database is unavailable. */
  maxRetryDelayMs?: number;
}

export interface RunningSink {
  /** Stops fetching, lets the batches in hand finish and commit, leaves the group. */
  stop(): Promise<void>;
  /** True while the last maintenance and the last batch succeeded. */
  healthy(): boolean;
}

/**
 * Runs one sink: maintenance first (partitions must exist before rows arrive), then a consumer
 * group member whose batches are retried in place, with backoff, while the sink throws (database
 * down), so a long outage neither skips data nor crash-loops the consumer. A batch abandoned by a
 * rebalance or shutdown is simply not committed and is read again by whoever owns the partition.
 */
export async function startSink(o: SinkRunnerOptions): Promise<RunningSink> {
  const log = o.logger.child({ sink: o.sink.name });
  const maxDelay = o.maxRetryDelayMs ?? 5000;
  let lastError: unknown = null;

  await o.sink.maintain(Date.now());
  let maintaining: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (maintaining) return;
    maintaining = o.sink
      .maintain(Date.now())
      .catch((err: unknown) => log.error({ err }, 'maintenance failed; retrying at the next interval'))
      .finally(() => (maintaining = null));
  }, o.maintenanceIntervalMs);
  timer.unref();

  const handleBatch = async (batch: BatchContext): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        await o.sink.write(batch);
        lastError = null;
        return;
      } catch (err) {
        lastError = err;
        if (!batch.isRunning()) throw err;
        o.metrics.retries.inc({ sink: o.sink.name });
        const delay = Math.min(maxDelay, 100 * 2 ** Math.min(attempt, 10));
        log.warn({ err, partition: batch.partition, attempt: attempt + 1, retry_in_ms: delay }, 'writing a batch failed; retrying');
        await sleep(delay);
        await batch.heartbeat();
      }
    }
  };

  let runner: ConsumerRunner;
  try {
    runner = await runConsumer({
      kafka: o.kafka,
      groupId: o.groupId,
      topics: [o.sink.topic],
      logger: log,
      fromBeginning: true,
      partitionsConsumedConcurrently: o.concurrency,
      handleBatch,
    });
  } catch (err) {
    clearInterval(timer);
    throw err;
  }
  log.info({ topic: o.sink.topic, group: o.groupId }, 'sink consuming');

  return {
    async stop() {
      clearInterval(timer);
      await runner.stop();
      await maintaining;
    },
    healthy: () => lastError === null,
  };
}
