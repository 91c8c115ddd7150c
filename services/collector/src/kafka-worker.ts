/**
 * Kafka production on threads of its own. Encoding produce requests in kafkajs costs several times
 * more per flow than receiving, decoding and Avro-encoding it, so on the main thread it would cap the
 * collector at what one core can both decode and produce. The main thread keeps the bounded queue and
 * batching (FlowPublisher) and hands each batch — keys and values packed into one transferred buffer,
 * no per-message structured clone — to the producer threads, each an idempotent acks=all
 * BatchingProducer; a batch's promise settles when Kafka acknowledged all of it.
 *
 * With several threads, each Kafka partition belongs to exactly one of them (partition modulo the
 * thread count), and batches go out one at a time, so flows of one key stay in order. The partition is
 * chosen here, as the default partitioner would (murmur2 of the key modulo the partition count read
 * at start; a topic that gains partitions later keeps using the first ones until a restart).
 */
import { Worker } from 'node:worker_threads';
import type { Message } from 'kafkajs';
import { partitionForKey, type MessageSink } from '@vigil/flow-publisher';

export interface KafkaWorkerData {
  brokers: string[];
  clientId: string;
  service: string;
  logLevel: string;
}

export type ToWorker = { type: 'send'; id: number; topic: string; count: number; buffer: ArrayBuffer } | { type: 'close' };
export type ToMain = { type: 'ready'; error?: string } | { type: 'ack'; id: number; error?: string } | { type: 'closed'; error?: string };

/** Messages (with their partition) as [u32 partition][u32 key length][u32 value length][key][value]… */
function frame(messages: readonly Message[]): ArrayBuffer {
  let total = 0;
  for (const m of messages) total += 12 + (m.key as Buffer).length + (m.value as Buffer).length;
  const out = Buffer.allocUnsafeSlow(total);
  let off = 0;
  for (const m of messages) {
    const key = m.key as Buffer;
    const value = m.value as Buffer;
    out.writeUInt32BE(m.partition ?? 0, off);
    out.writeUInt32BE(key.length, off + 4);
    out.writeUInt32BE(value.length, off + 8);
    off += 12;
    key.copy(out, off);
    off += key.length;
    value.copy(out, off);
    off += value.length;
  }
  return out.buffer as ArrayBuffer;
}

/** One producer thread. */
class KafkaThread {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private closed: ((error?: string) => void) | null = null;
  private closing = false;
  /** Set once the thread died: every send fails at once instead of waiting for an answer that cannot come. */
  private dead: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    onDeath: (err: Error) => void,
  ) {
    worker.on('message', (m: ToMain) => {
      if (m.type === 'ack') {
        const w = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        if (m.error === undefined) w?.resolve();
        else w?.reject(new Error(m.error));
      } else if (m.type === 'closed') this.closed?.(m.error);
    });
    const die = (err: Error) => {
      if (this.dead !== null) return;
      this.dead = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      this.closed?.(err.message);
      if (!this.closing) onDeath(err);
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`the Kafka producer thread exited with code ${code}`)));
  }

  /** Starts the thread and connects its producer; rejects if Kafka cannot be reached. */
  static async start(data: KafkaWorkerData, onDeath: (err: Error) => void): Promise<KafkaThread> {
    const worker = new Worker(new URL('./kafka-worker-boot.mjs', import.meta.url), { workerData: data });
    const ready = await new Promise<ToMain>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (ready.type !== 'ready' || ready.error !== undefined) {
      await worker.terminate();
      throw new Error(`the Kafka producer could not connect: ${ready.type === 'ready' ? ready.error : 'unexpected message'}`);
    }
    return new KafkaThread(worker, onDeath);
  }

  send(topic: string, messages: Message[]): Promise<void> {
    if (this.dead !== null) return Promise.reject(this.dead);
    const id = this.nextId++;
    const buffer = frame(messages);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const m: ToWorker = { type: 'send', id, topic, count: messages.length, buffer };
      this.worker.postMessage(m, [buffer]);
    });
  }

  /** Flushes and disconnects the producer, then ends the thread. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.dead !== null) return;
    const done = new Promise<string | undefined>((resolve) => (this.closed = resolve));
    this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    const error = await Promise.race([done, new Promise<string>((resolve) => setTimeout(() => resolve('no answer within 20 s'), 20_000).unref())]);
    await this.worker.terminate();
    if (error !== undefined) throw new Error(`the Kafka producer did not stop cleanly: ${error}`);
  }
}

export class KafkaWorker implements MessageSink {
  private constructor(
    private readonly threads: KafkaThread[],
    private readonly partitions: number,
  ) {}

  /**
   * Starts `threads` producer threads for a topic of `partitions` partitions. `onDeath` is told when a
   * thread dies unexpectedly (its sends then fail at once, counted as Kafka errors).
   */
  static async start(data: KafkaWorkerData, threads: number, partitions: number, onDeath: (err: Error) => void): Promise<KafkaWorker> {
    const started = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(threads, partitions)) }, () => KafkaThread.start(data, onDeath)));
    const ok = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(ok.map((t) => t.close().catch(() => undefined)));
      throw failed.reason;
    }
    return new KafkaWorker(ok, partitions);
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
    await Promise.all(this.threads.map((t) => t.close()));
  }
}
