import type { Consumer, ConsumerConfig, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@vigil/logging';

export interface BatchContext {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  /** False once a rebalance or shutdown began; long handlers may stop early and process the rest later. */
  isRunning(): boolean;
  heartbeat(): Promise<void>;
}

export interface ConsumerRunnerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  logger: Logger;
  fromBeginning?: boolean;
  /**
   * Processes one partition's batch completely (e.g. one database transaction). When it returns, the
   * batch's offsets are committed; if it throws, nothing of the batch is committed and it is retried.
   */
  handleBatch(batch: BatchContext): Promise<void>;
  consumer?: Partial<ConsumerConfig>;
  partitionsConsumedConcurrently?: number;
  /** Called with the consumer before it connects, e.g. to listen to its events (GROUP_JOIN) from the first one. */
  onConsumer?(consumer: Consumer): void;
}

export interface ConsumerRunner {
  consumer: Consumer;
  /** Stops fetching, lets the batch in hand finish and commits it, then leaves the group. */
  stop(): Promise<void>;
}

/** A consumer group member that commits exactly what its handler has finished, nothing more. */
export async function runConsumer(o: ConsumerRunnerOptions): Promise<ConsumerRunner> {
  const consumer = o.kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
    ...o.consumer,
  });
  o.onConsumer?.(consumer);
  await consumer.connect();
  for (const topic of o.topics) await consumer.subscribe({ topic, fromBeginning: o.fromBeginning ?? true });
  await consumer.run({
    autoCommit: true,
    autoCommitThreshold: 1,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 1,
    eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0 || isStale()) return;
      await o.handleBatch({
        topic: batch.topic,
        partition: batch.partition,
        messages: batch.messages,
        isRunning: () => isRunning() && !isStale(),
        heartbeat,
      });
      resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
      await commitOffsetsIfNecessary();
    },
  });
  return {
    consumer,
    async stop() {
      o.logger.info({ group: o.groupId }, 'consumer stopping');
      await consumer.disconnect();
    },
  };
}
