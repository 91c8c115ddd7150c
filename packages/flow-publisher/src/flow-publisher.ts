/**
 * Bounded, self-clocking batches of flow messages into Kafka.
 *
 * The collector receives flows far faster than one produce request per datagram could carry, and the
 * produce path costs per message, so flows are queued and sent as one request while the previous one
 * is in flight: at low rates a datagram's flows go out at once, at high rates requests grow up to
 * `maxBatchMessages` (big enough to amortise the round trip, small enough that building a request
 * never stalls the event loop). The queue is bounded: when Kafka cannot keep up, `offer` refuses and
 * the caller counts the drop (UDP) or answers 503 (HTTP), or pauses its socket (TCP) — memory never
 * grows without limit.
 */
import type { Message } from 'kafkajs';

/** The producer surface used: @vigil/kafka's BatchingProducer (idempotent, acks=all). */
export interface MessageSink {
  send(topic: string, messages: Message[]): Promise<void>;
}

export interface FlowPublisherOptions {
  producer: MessageSink;
  topic: string;
  /** Messages per produce request at most. Default 5,000. */
  maxBatchMessages?: number;
  /** Messages waiting (not yet in a request) at most. Default 250,000. */
  maxQueuedMessages?: number;
  /** After every acknowledged request. */
  onBatch?(messages: number, seconds: number): void;
  /** After every failed request (kafkajs retries exhausted); its messages are lost unless a caller retries. */
  onError?(err: Error, messages: number): void;
}

interface Submission {
  segments: number;
  error: Error | null;
  done?: (error: Error | null) => void;
}

interface Segment {
  messages: Message[];
  submission: Submission;
}

export class FlowPublisher {
  private readonly maxBatch: number;
  private readonly maxQueued: number;
  private segments: Segment[] = [];
  private head = 0;
  private queuedMessages = 0;
  private inFlight = false;
  private inFlightMessages = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: FlowPublisherOptions) {
    this.maxBatch = o.maxBatchMessages ?? 5_000;
    this.maxQueued = o.maxQueuedMessages ?? 250_000;
  }

  /** Messages waiting for a request. */
  get queued(): number {
    return this.queuedMessages;
  }

  /** Messages waiting or in the request in flight. */
  get pending(): number {
    return this.queuedMessages + this.inFlightMessages;
  }

  /** Whether `count` more messages fit in the queue now. */
  hasRoom(count: number): boolean {
    return this.queuedMessages === 0 || this.queuedMessages + count <= this.maxQueued;
  }

  /**
   * Queues messages and resolves once Kafka acknowledged all of them (rejects with the produce error
   * otherwise). Returns null, queuing nothing, when they do not fit.
   */
  publish(messages: Message[]): Promise<void> | null {
    if (messages.length === 0) return Promise.resolve();
    if (!this.hasRoom(messages.length)) return null;
    return new Promise((resolve, reject) => {
      this.enqueue(messages, (error) => (error === null ? resolve() : reject(error)));
    });
  }

  /** Queues messages without waiting for them (errors reach `onError`). False when they do not fit. */
  offer(messages: Message[]): boolean {
    if (messages.length === 0) return true;
    if (!this.hasRoom(messages.length)) return false;
    this.enqueue(messages, undefined);
    return true;
  }

  /** Resolves when nothing is queued or in flight. */
  flush(): Promise<void> {
    if (!this.inFlight && this.queuedMessages === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(messages: Message[], done: Submission['done']): void {
    const submission: Submission = { segments: 0, error: null, done };
    for (let i = 0; i < messages.length; i += this.maxBatch) {
      const part = i === 0 && messages.length <= this.maxBatch ? messages : messages.slice(i, i + this.maxBatch);
      this.segments.push({ messages: part, submission });
      submission.segments++;
    }
    this.queuedMessages += messages.length;
    this.pump();
  }

  private pump(): void {
    if (this.inFlight || this.head >= this.segments.length) return;
    const batch: Message[] = [];
    const taken: Segment[] = [];
    while (this.head < this.segments.length) {
      const seg = this.segments[this.head]!;
      if (batch.length > 0 && batch.length + seg.messages.length > this.maxBatch) break;
      for (const m of seg.messages) batch.push(m);
      taken.push(seg);
      this.head++;
    }
    if (this.head === this.segments.length) {
      this.segments = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.segments = this.segments.slice(this.head);
      this.head = 0;
    }
    this.queuedMessages -= batch.length;
    this.inFlight = true;
    this.inFlightMessages = batch.length;
    const started = performance.now();
    this.o.producer.send(this.o.topic, batch).then(
      () => this.finish(taken, null, batch.length, started),
      (err: unknown) => this.finish(taken, err instanceof Error ? err : new Error(String(err)), batch.length, started),
    );
  }

  private finish(taken: Segment[], error: Error | null, count: number, started: number): void {
    this.inFlight = false;
    this.inFlightMessages = 0;
    if (error === null) this.o.onBatch?.(count, (performance.now() - started) / 1000);
    else this.o.onError?.(error, count);
    for (const seg of taken) {
      const s = seg.submission;
      if (error !== null && s.error === null) s.error = error;
      if (--s.segments === 0) s.done?.(s.error);
    }
    this.pump();
    if (!this.inFlight && this.queuedMessages === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
