import type { BatchContext } from '@vigil/kafka';

/**
 * One destination of the store: a topic read by its own consumer group into its own tables. The
 * events sink is the first; a flows sink (flows table plus rollups) sits beside it with the same
 * shape, and main.ts runs every sink it is given through `startSink`.
 */
export interface Sink {
  /** Short name (`events`, `flows`): consumer group suffix, metric label, log field. */
  readonly name: string;
  /** The Kafka topic this sink consumes. */
  readonly topic: string;
  /**
   * Writes one partition's batch completely, or throws. Records that can never be written are the
   * sink's to dead-letter; a throw means "try the whole batch again" (database or registry
   * unavailable), and nothing of the batch is committed until it returns.
   */
  write(batch: BatchContext): Promise<void>;
  /**
   * Upkeep that must not wait for traffic: partitions created ahead, retention. Runs once before
   * consuming starts (a failure stops the start) and then periodically.
   */
  maintain(nowMs: number): Promise<void>;
}
