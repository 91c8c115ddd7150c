/**
 * Kafka production on threads of its own. Encoding produce requests in kafkajs costs several times
 * more per flow than receiving, decoding and Avro-encoding it, so on the main thread it would cap the
 * collector at what one core can both decode and produce. The main thread keeps the bounded queue and
 * batching (FlowPublisher) and hands each batch to producer threads (`ThreadedProducer` from
 * `@vigil/kafka`: keys and values packed into one transferred buffer, an idempotent acks=all producer
 * on the thread); a batch's promise settles when Kafka acknowledged all of it.
 *
 * With several threads, each Kafka partition belongs to exactly one of them (partition modulo the
 * thread count), and batches go out one at a time, so flows of one key stay in order. The partition is
 * chosen here, as the default partitioner would (murmur2 of the key modulo the partition count read
 * at start; a topic that gains partitions later keeps using the first ones until a restart).
 */
import type { Message } from 'kafkajs';
import { partitionForKey, type MessageSink } from '@vigil/flow-publisher';
import { ThreadedProducer } from '@vigil/kafka';

export interface KafkaWorkerData {
  brokers: string[];
  clientId: string;
  service: string;
  logLevel: string;
}

export class KafkaWorker implements MessageSink {
  private constructor(
    private readonly threads: ThreadedProducer[],
    private readonly partitions: number,
  ) {}

  /**
   * Starts `threads` producer threads for a topic of `partitions` partitions. `onDeath` is told when a
   * thread dies unexpectedly (its sends then fail, counted as Kafka errors).
   */
  static async start(data: KafkaWorkerData, threads: number, partitions: number, onDeath: (err: Error) => void): Promise<KafkaWorker> {
    const producers = Array.from(
      { length: Math.max(1, Math.min(threads, partitions)) },
      () => new ThreadedProducer({ ...data, lingerMs: 0, onThreadDeath: onDeath }),
    );
    const started = await Promise.allSettled(producers.map((p) => p.connect()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
      throw failed.reason;
    }
    return new KafkaWorker(producers, partitions);
  }

  send(topic: string, messages: Message[]): Promise<void> {
    const n = this.threads.length;
    const parts: Message[][] = Array.from({ length: n }, () => []);
    for (const m of messages) {
      const partition = partitionForKey(m.key as Buffer, this.partitions);
      parts[partition % n]!.push({ key: m.key, value: m.value, partition });
    }
    return Promise.all(parts.map((p, i) => (p.length > 0 ? this.threads[i]!.send(topic, p) : undefined))).then(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.disconnect()));
  }
}
