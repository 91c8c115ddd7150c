import type { Message } from 'kafkajs';
import type { BatchingProducer } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { ProtocolError } from '@vigil/sentry-protocol';

export interface EventLogOptions {
  producer: BatchingProducer;
  /** Longest wait for Kafka's acknowledgement before the request is answered 503. */
  timeoutMs: number;
  /** Unacknowledged bytes held at most; beyond them requests are refused at once. */
  maxPendingBytes: number;
  logger: Logger;
  onFailure?: (cause: 'error' | 'timeout' | 'unavailable' | 'backlog') => void;
  onState?: (available: boolean) => void;
}

/**
 * The only way ingest writes to Kafka. `write` resolves once Kafka acknowledged the messages
 * (acks=all, idempotent producer, many requests batched into each produce call); otherwise it
 * rejects with `event_log_unavailable`, which the request answers with 503 and `Retry-After`.
 * So a 200 always means "in Kafka", and a 503 never hides data that would be lost.
 *
 * Bounded in time: a write that is not acknowledged within `timeoutMs` is answered 503 (the
 * producer may still deliver it later; the client's retry is then a duplicate that the store
 * skips by event id). Bounded in memory: at most `maxPendingBytes` wait for Kafka. While Kafka is
 * failing, requests are refused at once instead of piling up, except one at a time that probes
 * whether Kafka is back; its success reopens the log for everyone.
 */
/** A write waiting for Kafka, with the moment it is answered 503 instead. */
interface Waiting {
  deadline: number;
  expire(): void;
}

/** How often deadlines are checked: one timer for all writes instead of one per write. */
const SWEEP_MS = 50;

export class EventLog {
  private pendingBytes = 0;
  private available = true;
  private probing = false;
  private readonly waiting = new Set<Waiting>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly o: EventLogOptions) {}

  isAvailable(): boolean {
    return this.available;
  }

  async write(topic: string, messages: Message[], bytes: number): Promise<void> {
    if (messages.length === 0) return;
    if (this.pendingBytes + bytes > this.o.maxPendingBytes) {
      this.o.onFailure?.('backlog');
      throw new ProtocolError('event_log_unavailable', 'too many writes are waiting for the event log');
    }
    let probe = false;
    if (!this.available) {
      if (this.probing) {
        this.o.onFailure?.('unavailable');
        throw new ProtocolError('event_log_unavailable');
      }
      this.probing = probe = true;
    }
    this.addPending(bytes);
    try {
      await new Promise<void>((resolve, reject) => {
        const entry: Waiting = {
          deadline: Date.now() + this.o.timeoutMs,
          expire: () => {
            this.o.onFailure?.('timeout');
            this.setAvailable(false, new Error(`no acknowledgement within ${this.o.timeoutMs} ms`));
            reject(new ProtocolError('event_log_unavailable', 'the event log did not acknowledge the write in time'));
          },
        };
        this.waiting.add(entry);
        this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
        // A write answered 503 on its deadline may still be acknowledged later: it then only
        // updates the state (the client's retry is a duplicate the store skips by event id).
        this.o.producer.send(topic, messages).then(
          () => {
            this.addPending(-bytes);
            this.setAvailable(true, null);
            if (this.waiting.delete(entry)) resolve();
          },
          (error: unknown) => {
            this.addPending(-bytes);
            this.setAvailable(false, error);
            if (!this.waiting.delete(entry)) return;
            // The producer's error stays in the log (setAvailable), not in the answer to the client.
            this.o.onFailure?.('error');
            reject(new ProtocolError('event_log_unavailable'));
          },
        );
      });
    } finally {
      if (probe) this.probing = false;
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const entry of this.waiting) {
      if (entry.deadline > now) continue;
      this.waiting.delete(entry);
      entry.expire();
    }
    if (this.waiting.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private addPending(bytes: number): void {
    this.pendingBytes += bytes;
  }

  /** Bytes written and not yet acknowledged (a gauge reads it when scraped). */
  pending(): number {
    return this.pendingBytes;
  }

  private setAvailable(available: boolean, error: unknown): void {
    if (available === this.available) return;
    this.available = available;
    this.o.onState?.(available);
    if (available) this.o.logger.info('event log available again: Kafka acknowledges writes');
    else this.o.logger.error({ err: error }, 'event log unavailable: answering 503 until Kafka acknowledges a write');
  }
}
