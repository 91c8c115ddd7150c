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
  handleBatch?(batch: BatchContext): Promise<void>;
  /**
   * Instead of `handleBatch`: pipelined handling. Prepares a batch (if it throws, nothing of the batch
   * is committed and it is retried) and returns the step that finishes it (e.g. produce and await the
   * acks). The consumer fetches the next batches while a step runs, runs the steps one at a time in
   * the order the batches were prepared, and commits a batch's offsets once its step resolved. When
   * a step fails, no later step runs and nothing after the failed batch is committed: the consumer
   * starts again from the committed offsets (as after a handler that throws). A step may be shared
   * by several batches (it then runs once).
   */
  prepareBatch?(batch: BatchContext): Promise<() => Promise<void>>;
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
  if (o.prepareBatch !== undefined) return runPipelinedConsumer(o, o.prepareBatch);
  const handleBatch = o.handleBatch;
  if (handleBatch === undefined) throw new Error('runConsumer needs handleBatch or prepareBatch');
  const consumer = createConsumer(o);
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
      await handleBatch({
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

function createConsumer(o: ConsumerRunnerOptions): Consumer {
  return o.kafka.consumer({
    groupId: o.groupId,
    sessionTimeout: 30_000,
    heartbeatInterval: 3_000,
    maxWaitTimeInMs: 250,
    allowAutoTopicCreation: false,
    ...o.consumer,
  });
}

/**
 * Offsets are resolved as soon as a batch is prepared — so the next fetch continues after it — but
 * committed (by hand: autoCommit is off) only after the batch's step resolved, in step order. A
 * failed step breaks the chain: the steps after it fail without running, every later batch handed
 * to the handler throws, and kafkajs restarts the consumer from the committed offsets; the chain is
 * whole again from the next group generation on. Commits of an older generation are not sent (the
 * partition may have moved; its new owner starts from what was committed).
 */
async function runPipelinedConsumer(o: ConsumerRunnerOptions, prepareBatch: (batch: BatchContext) => Promise<() => Promise<void>>): Promise<ConsumerRunner> {
  const consumer = createConsumer(o);
  let generation = 0;
  let broken: unknown = null;
  let tail: Promise<void> = Promise.resolve();
  let commits: Promise<void> = Promise.resolve();
  let stopping = false;
  /** The step chained last (batches prepared together share one), what ran before it, and its outcome. */
  let last: { step: (() => Promise<void>) | null; before: Promise<void>; done: Promise<void> } = { step: null, before: tail, done: tail };
  /** Per `topic|partition`, the first offset of each batch prepared and not yet committed, in order. */
  const uncommitted = new Map<string, { topic: string; partition: number; firsts: string[] }>();
  const pending = new Set<Promise<unknown>>();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    generation++;
    broken = null;
    uncommitted.clear();
  });
  // A failed step: rewind every partition to its first batch not committed, so it is fetched again
  // (and the consumer, finding the chain broken, restarts from the committed offsets).
  const breakChain = (err: unknown) => {
    if (broken !== null) return;
    broken = err;
    for (const u of uncommitted.values()) {
      const first = u.firsts[0];
      if (first !== undefined) consumer.seek({ topic: u.topic, partition: u.partition, offset: first });
    }
  };
  o.onConsumer?.(consumer);
  await consumer.connect();
  for (const topic of o.topics) await consumer.subscribe({ topic, fromBeginning: o.fromBeginning ?? true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 1,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      if (batch.messages.length === 0 || isStale() || stopping) return;
      if (broken !== null) throw broken;
      const step = await prepareBatch({
        topic: batch.topic,
        partition: batch.partition,
        messages: batch.messages,
        isRunning: () => isRunning() && !isStale() && !stopping,
        heartbeat,
      });
      if (broken !== null) throw broken;
      const gen = generation;
      const key = `${batch.topic}|${batch.partition}`;
      const u = uncommitted.get(key) ?? { topic: batch.topic, partition: batch.partition, firsts: [] };
      uncommitted.set(key, u);
      u.firsts.push(batch.messages[0]!.offset);
      if (step !== last.step) {
        const before = tail;
        const done = tail.then(() => {
          if (broken !== null) throw broken;
          return step();
        });
        tail = done.catch(breakChain);
        last = { step, before, done };
      }
      const { before, done } = last;
      const next = String(BigInt(batch.messages[batch.messages.length - 1]!.offset) + 1n);
      const committed = Promise.all([commits, done]).then(async () => {
        if (gen !== generation) return;
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
        u.firsts.shift();
      }).catch((err: unknown) => {
        if (broken === null) o.logger.warn({ err, topic: batch.topic, partition: batch.partition }, 'a pipelined batch was not committed; it is processed again');
      });
      commits = committed;
      pending.add(committed);
      void committed.finally(() => pending.delete(committed));
      resolveOffset(batch.messages[batch.messages.length - 1]!.offset);
      // At most one step runs while the next batches are fetched and prepared.
      await before;
    },
  });
  return {
    consumer,
    async stop() {
      o.logger.info({ group: o.groupId }, 'consumer stopping');
      stopping = true;
      consumer.pause(o.topics.map((topic) => ({ topic })));
      while (pending.size > 0) await Promise.all([...pending]);
      await consumer.disconnect();
    },
  };
}
