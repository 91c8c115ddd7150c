import type { Message } from 'kafkajs';
import type { MessageProducer } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { isProtocolError, ProtocolError } from '@vigil/sentry-protocol';
import { SpoolFullError, type Spool } from './spool';
import { SpoolDrainer } from './spool-drainer';

export type EventLogFailure = 'error' | 'timeout' | 'unavailable' | 'backlog' | 'spool_full' | 'spool_error';

export interface EventLogOptions {
  producer: MessageProducer;
  /** Longest wait for Kafka's acknowledgement before the request is answered 503 (or spooled). */
  timeoutMs: number;
  /** Unacknowledged bytes held at most; beyond them requests are refused at once (or spooled). */
  maxPendingBytes: number;
  /** The on-disk spool, when configured. */
  spool?: Spool | null;
  /**
   * Topics whose writes may go to the spool (default: all). Flows are not spooled: their contract
   * is that 200 means in Kafka, and a flow exporter resends nothing anyway.
   */
  spoolTopics?: ReadonlySet<string>;
  /**
   * Whether the producer is connected. Only with a spool may ingest start while Kafka is down:
   * everything is spooled until `connect` (topics, producer) succeeds for the drainer.
   */
  connected?: boolean;
  connect?: () => Promise<void>;
  /** A connection attempt already under way (the one the start gave up waiting for). */
  connecting?: Promise<void> | null;
  logger: Logger;
  onFailure?: (cause: EventLogFailure) => void;
  onState?: (available: boolean) => void;
  onSpooled?: (messages: number) => void;
  onSpoolDelivered?: (messages: number) => void;
}

/** A write waiting for Kafka, with the moment it is answered 503 instead. */
interface Waiting {
  deadline: number;
  reject(error: ProtocolError): void;
}

/** How often deadlines are checked: one timer for all writes instead of one per write. */
const SWEEP_MS = 50;

/**
 * The only way ingest writes an event. `write` resolves once the messages are durable — acknowledged
 * by Kafka (acks=all, idempotent producer, many requests batched into each produce call), or, with a
 * spool, fsynced to it while Kafka cannot take them — and otherwise rejects with
 * `event_log_unavailable`, which the request answers with 503 and `Retry-After`. So a 200 always
 * means "in Kafka" or "on disk, on its way to Kafka", and a 503 never hides data that would be lost.
 *
 * Without a spool: a write not acknowledged within `timeoutMs` is answered 503 (the producer may
 * still deliver it later; the client's retry is then a duplicate that the store skips by event
 * id); at most `maxPendingBytes` wait for Kafka; while Kafka is failing, requests are refused at
 * once instead of piling up, except one at a time that probes whether Kafka is back, whose success
 * reopens the log for everyone.
 *
 * With a spool: whatever would have been refused goes to the spool instead, and while the spool
 * holds anything every write goes there too, so events reach Kafka in the order they were
 * accepted; the drainer delivers it (and is the probe). Only a full or failing spool means 503.
 */
export class EventLog {
  private pendingBytes = 0;
  private available = true;
  private probing = false;
  private readonly waiting = new Set<Waiting>();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly spool: Spool | null;
  private readonly drainer: SpoolDrainer | null;
  private connected: boolean;
  private connecting: Promise<void> | null = null;

  constructor(private readonly o: EventLogOptions) {
    this.spool = o.spool ?? null;
    this.connected = o.connected ?? true;
    if (!this.connected) {
      this.available = false;
      if (o.connecting) this.connecting = this.settleConnect(o.connecting);
    }
    this.drainer =
      this.spool === null
        ? null
        : new SpoolDrainer({
            spool: this.spool,
            producer: o.producer,
            logger: o.logger,
            timeoutMs: o.timeoutMs,
            ready: () => this.ensureConnected(),
            onResult: (ok, error) => this.setAvailable(ok, error),
            onDelivered: (n) => o.onSpoolDelivered?.(n),
          });
    this.drainer?.start();
  }

  /** Whether Kafka acknowledges writes. */
  isAvailable(): boolean {
    return this.available;
  }

  /** Whether a write would be accepted durably now (Kafka available, or room in the spool). */
  canAccept(): boolean {
    return this.available || (this.spool !== null && this.spool.bytes() < this.spool.capacity());
  }

  /** Bytes written and not yet acknowledged (a gauge reads it when scraped). */
  pending(): number {
    return this.pendingBytes;
  }

  /** Bytes in the spool waiting for Kafka. */
  spooled(): number {
    return this.spool?.bytes() ?? 0;
  }

  async write(topic: string, messages: Message[], bytes: number): Promise<void> {
    if (messages.length === 0) return;
    const spooling = this.spool !== null && (this.o.spoolTopics === undefined || this.o.spoolTopics.has(topic));
    if (spooling && (!this.available || (this.spool as Spool).bytes() > 0)) return this.toSpool(topic, messages);
    try {
      await this.toKafka(topic, messages, bytes);
    } catch (error) {
      if (!spooling || !isProtocolError(error) || error.reason !== 'event_log_unavailable') throw error;
      await this.toSpool(topic, messages);
    }
  }

  /** Connects the producer once, if ingest started while Kafka was down. */
  private ensureConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    this.connecting ??= this.settleConnect(this.o.connect?.() ?? Promise.resolve());
    return this.connecting;
  }

  private settleConnect(attempt: Promise<void>): Promise<void> {
    const settled = attempt.then(
      () => {
        this.connected = true;
        this.connecting = null;
        this.o.logger.info('connected to Kafka');
      },
      (error: unknown) => {
        this.connecting = null;
        throw error;
      },
    );
    settled.catch(() => undefined);
    return settled;
  }

  /** Stops delivering the spool and closes it (what is left is delivered by the next start). */
  async close(): Promise<void> {
    await this.drainer?.stop();
    await this.spool?.close();
  }

  private async toSpool(topic: string, messages: Message[]): Promise<void> {
    const spool = this.spool as Spool;
    try {
      await spool.append(topic, messages);
    } catch (error) {
      if (error instanceof SpoolFullError) {
        this.o.onFailure?.('spool_full');
        throw new ProtocolError('event_log_unavailable', 'the event log is unavailable and the spool is full');
      }
      this.o.onFailure?.('spool_error');
      this.o.logger.error({ err: error }, 'spool write failed');
      throw new ProtocolError('event_log_unavailable', 'the event log is unavailable and the spool failed');
    }
    this.o.onSpooled?.(messages.length);
  }

  private async toKafka(topic: string, messages: Message[], bytes: number): Promise<void> {
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
    this.pendingBytes += bytes;
    try {
      await new Promise<void>((resolve, reject) => {
        const entry: Waiting = { deadline: Date.now() + this.o.timeoutMs, reject };
        this.waiting.add(entry);
        this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
        // A write answered on its deadline may still be acknowledged later: it then only updates
        // the state (a retry or the spooled copy is a duplicate the store skips by event id).
        this.o.producer.send(topic, messages).then(
          () => {
            this.pendingBytes -= bytes;
            this.setAvailable(true, null);
            if (this.waiting.delete(entry)) resolve();
          },
          (error: unknown) => {
            this.pendingBytes -= bytes;
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

  private expire(entry: Waiting): void {
    this.o.onFailure?.('timeout');
    this.setAvailable(false, new Error(`no acknowledgement within ${this.o.timeoutMs} ms`));
    entry.reject(new ProtocolError('event_log_unavailable', 'the event log did not acknowledge the write in time'));
  }

  private sweep(): void {
    const now = Date.now();
    for (const entry of this.waiting) {
      if (entry.deadline > now) continue;
      this.waiting.delete(entry);
      this.expire(entry);
    }
    if (this.waiting.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private setAvailable(available: boolean, error: unknown): void {
    if (available === this.available) return;
    this.available = available;
    this.o.onState?.(available);
    const spooling = this.spool === null ? '' : ' (spooling to disk)';
    if (available) this.o.logger.info('event log available again: Kafka acknowledges writes');
    else this.o.logger.error({ err: error }, `event log unavailable: Kafka does not acknowledge writes${spooling}`);
  }
}
