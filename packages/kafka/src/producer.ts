import type { Kafka, Message, Producer, ProducerConfig } from 'kafkajs';
import { CompressionTypes } from 'kafkajs';

export interface BatchingProducerOptions {
  /** How long the first message of a batch may wait for company. 0 batches only what arrives while a request is in flight. */
  lingerMs?: number;
  maxBatchMessages?: number;
  /** kafkajs producer settings, e.g. `retry` to bound how long a send may take while Kafka is down. */
  producer?: Partial<ProducerConfig>;
  compression?: CompressionTypes;
}

interface Pending {
  topic: string;
  messages: Message[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * An idempotent, acks=all producer that merges concurrent `send` calls into one request per flush, so
 * throughput comes from batching many callers into each produce call while every caller is answered only
 * after Kafka acknowledged its messages. One request is in flight at a time; calls that arrive meanwhile
 * form the next batch.
 */
export class BatchingProducer {
  private readonly producer: Producer;
  private queue: Pending[] = [];
  private queuedMessages = 0;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly lingerMs: number;
  private readonly maxBatchMessages: number;
  private readonly compression: CompressionTypes;

  constructor(kafka: Kafka, options: BatchingProducerOptions = {}) {
    this.lingerMs = options.lingerMs ?? 1;
    this.maxBatchMessages = options.maxBatchMessages ?? 10_000;
    this.compression = options.compression ?? CompressionTypes.None;
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      ...options.producer,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** Resolves once every message is acknowledged by all in-sync replicas; rejects if the write failed. */
  send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, messages, resolve, reject });
      this.queuedMessages += messages.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.inFlight || this.timer) return;
    if (this.queuedMessages >= this.maxBatchMessages || this.lingerMs === 0) {
      this.flushNow();
    } else {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.flushNow();
      }, this.lingerMs);
    }
  }

  private flushNow(): void {
    if (this.inFlight || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.queuedMessages = 0;
    const byTopic = new Map<string, Message[]>();
    for (const p of batch) {
      const list = byTopic.get(p.topic);
      if (list) for (const m of p.messages) list.push(m);
      else byTopic.set(p.topic, [...p.messages]);
    }
    this.inFlight = this.producer
      .sendBatch({
        acks: -1,
        compression: this.compression,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      })
      .then(
        () => batch.forEach((p) => p.resolve()),
        (err: Error) => batch.forEach((p) => p.reject(err)),
      )
      .finally(() => {
        this.inFlight = null;
        if (this.queue.length) this.schedule();
      });
  }

  /** Waits until everything sent so far is acknowledged (or failed). */
  async flush(): Promise<void> {
    while (this.inFlight || this.queue.length || this.timer) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
        this.flushNow();
      }
      await this.inFlight;
    }
  }

  async disconnect(): Promise<void> {
    await this.flush();
    await this.producer.disconnect();
  }
}
