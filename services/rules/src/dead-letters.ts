import type { KafkaMessage } from 'kafkajs';
import type { BatchingProducer, TopicCodec } from '@vigil/kafka';
import { sendBounded } from './bounded-send';

/** A consumed record that no retry can make usable, and why. */
export interface Poison {
  message: KafkaMessage;
  /** Stable reason code (metric label and the dead-letter record's `reason`). */
  reason: string;
  /** Human-readable detail. */
  error: string;
}

/**
 * Sends poison records to `vigil.deadletter.v1` with their origin (topic, partition, offset), the
 * original key and value bytes and the reason, so they can be inspected and replayed. Awaited before
 * the batch's offsets are committed: a poison record is never dropped silently.
 */
export class DeadLetters {
  constructor(
    private readonly producer: BatchingProducer,
    private readonly codec: TopicCodec<'deadletter'>,
  ) {}

  async send(sourceTopic: string, partition: number, poison: readonly Poison[]): Promise<void> {
    if (poison.length === 0) return;
    const now = Date.now();
    const messages = await Promise.all(
      poison.map(async (p) => ({
        key: p.message.key ?? null,
        value: await this.codec.encode({
          service: 'rules',
          source_topic: sourceTopic,
          source_partition: partition,
          source_offset: p.message.offset,
          key: p.message.key ?? null,
          value: p.message.value ?? null,
          reason: p.reason,
          error: p.error.slice(0, 4000),
          failed_at_ms: now,
        }),
      })),
    );
    await sendBounded(this.producer, this.codec.topic, messages);
  }
}
