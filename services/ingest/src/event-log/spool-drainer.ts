import type { Message } from 'kafkajs';
import type { MessageProducer } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import type { Spool } from './spool';

export interface SpoolDrainerOptions {
  spool: Spool;
  producer: MessageProducer;
  logger: Logger;
  /** Longest wait for one delivery before it counts as failed (and is tried again). */
  timeoutMs: number;
  /** Makes sure the producer is connected (ingest may have started while Kafka was down). */
  ready(): Promise<void>;
  /** Bytes read from the spool per delivery. Default 4 MiB. */
  batchBytes?: number;
  /** Each delivery's result: true when Kafka acknowledged (it is the event log's probe too). */
  onResult(ok: boolean, error: unknown): void;
  onDelivered(messages: number): void;
}

/**
 * Delivers the spool to Kafka in order, oldest first: read a batch, send it (acks=all), and only
 * after Kafka acknowledged it, forget it in the spool. A failed or timed-out delivery is tried again
 * after a back-off (0.5 s doubling to 10 s); a delivery that timed out but still reached Kafka is
 * then sent twice, and the store keeps one row per event id.
 */
export class SpoolDrainer {
  private stopped = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly batchBytes: number;

  constructor(private readonly o: SpoolDrainerOptions) {
    this.batchBytes = o.batchBytes ?? 4 * 1024 * 1024;
  }

  start(): void {
    this.loop ??= this.run().catch((error: unknown) => this.o.logger.error({ err: error }, 'spool delivery stopped'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoff = 500;
    while (!this.stopped) {
      await Promise.race([this.o.spool.waitForData(), this.stopSignal()]);
      if (this.stopped) return;
      const { writes, end } = await this.o.spool.read(this.batchBytes);
      if (writes.length === 0) {
        await this.pause(50);
        continue;
      }
      const byTopic = new Map<string, Message[]>();
      let count = 0;
      for (const w of writes) {
        const list = byTopic.get(w.topic) ?? [];
        for (const m of w.messages) list.push(m);
        byTopic.set(w.topic, list);
        count += w.messages.length;
      }
      try {
        await this.withTimeout(this.o.ready());
        await this.withTimeout(Promise.all([...byTopic].map(([topic, messages]) => this.o.producer.send(topic, messages))));
        await this.o.spool.commit(end);
        this.o.onDelivered(count);
        this.o.onResult(true, null);
        backoff = 500;
      } catch (error) {
        this.o.onResult(false, error);
        await this.pause(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  private withTimeout(work: Promise<unknown>): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no acknowledgement within ${this.o.timeoutMs} ms`)), this.o.timeoutMs);
    });
    work.catch(() => undefined);
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }

  private stopSignal(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      if (this.stopped) resolve();
    });
  }

  private pause(ms: number): Promise<void> {
    return Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms).unref()), this.stopSignal()]);
  }
}
