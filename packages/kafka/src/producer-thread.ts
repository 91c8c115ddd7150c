/**
 * An acks=all idempotent producer whose Kafka work runs on a thread of its own.
 *
 * kafkajs spends tens of microseconds of CPU per message (record and request encoding, buffer
 * copies, a JavaScript CRC-32C) — on a service's main thread that is time taken from answering
 * requests. `ThreadedProducer` keeps the same contract as `BatchingProducer` (each `send` resolves
 * only once Kafka acknowledged its messages) but its callers only pack messages: the sends of one
 * turn of the event loop are framed into one transferred buffer, posted to the producer thread, and
 * answered when that thread's `BatchingProducer` reports the acknowledgement.
 *
 * If the thread dies, every waiting and later `send` rejects and `onThreadDeath` tells the owner, who
 * decides what to do (the collector exits so that its supervisor starts it afresh).
 *
 * It pays where the main thread is the bottleneck and a core is free for the producer (the
 * collector, whose main thread decodes flows). It does not where the cores are already full: kafkajs
 * on a mostly idle thread costs several times what it costs inline on a busy one, which is why ingest
 * keeps its producer on the main thread (measured in docs/ingest.md).
 */
import { Worker } from 'node:worker_threads';
import type { Message } from 'kafkajs';

export interface ProducerThreadData {
  brokers: string[];
  clientId: string;
  /** Names the thread's log lines (pino `service`). */
  service: string;
  logLevel: string;
  lingerMs: number;
  retry?: { retries?: number; initialRetryTime?: number; maxRetryTime?: number };
}

export interface ThreadedProducerOptions extends ProducerThreadData {
  /**
   * Told when the producer thread dies unexpectedly; its waiting and later sends fail.
   */
  onThreadDeath?: (err: Error) => void;
}

/** Anything that sends messages and answers after Kafka acknowledged them. */
export interface MessageProducer {
  connect(): Promise<void>;
  send(topic: string, messages: Message[]): Promise<void>;
  flush(): Promise<void>;
  disconnect(): Promise<void>;
}

export type ToProducerThread =
  | { type: 'send'; id: number; topics: string[]; counts: number[]; buffer: ArrayBuffer }
  | { type: 'flush'; id: number }
  | { type: 'close' };
export type FromProducerThread =
  | { type: 'ready'; error?: string }
  | { type: 'ack'; id: number; error?: string }
  | { type: 'flushed'; id: number }
  | { type: 'closed'; error?: string };

interface Caller {
  topic: string;
  messages: Message[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Marks an absent key or partition in the framing. */
const NONE = 0xffffffff;

function bytesOf(v: Message['key'] | Message['value']): Buffer | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/**
 * Messages as [u32 partition or 0xffffffff][u32 key length or 0xffffffff][u32 value length][key]
 * [value]…, grouped by topic, in one buffer that is transferred (not copied) to the thread. A
 * message's partition, when set, is where it goes; otherwise Kafka's default partitioner picks.
 */
export function frameMessages(groups: ReadonlyArray<readonly Message[]>): ArrayBuffer {
  let total = 0;
  const parts: Array<[number, Buffer | null, Buffer]> = [];
  for (const group of groups) {
    for (const m of group) {
      if (m.headers !== undefined || m.timestamp !== undefined) {
        throw new Error('the producer thread carries partitions, keys and values only');
      }
      const key = bytesOf(m.key);
      const value = bytesOf(m.value);
      if (value === null) throw new Error('the producer thread needs a value');
      parts.push([m.partition ?? NONE, key, value]);
      total += 12 + (key?.length ?? 0) + value.length;
    }
  }
  const out = Buffer.allocUnsafeSlow(total);
  let off = 0;
  for (const [partition, key, value] of parts) {
    out.writeUInt32BE(partition, off);
    out.writeUInt32BE(key === null ? NONE : key.length, off + 4);
    out.writeUInt32BE(value.length, off + 8);
    off += 12;
    if (key !== null) off += key.copy(out, off);
    off += value.copy(out, off);
  }
  return out.buffer as ArrayBuffer;
}

/** The inverse of `frameMessages`: views into the buffer, no copies. */
export function unframeMessages(buffer: ArrayBuffer, counts: readonly number[]): Message[][] {
  const bytes = Buffer.from(buffer);
  const groups: Message[][] = [];
  let off = 0;
  for (const count of counts) {
    const group: Message[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const partition = bytes.readUInt32BE(off);
      const keyLength = bytes.readUInt32BE(off + 4);
      const valueLength = bytes.readUInt32BE(off + 8);
      off += 12;
      let key: Buffer | null = null;
      if (keyLength !== NONE) {
        key = bytes.subarray(off, off + keyLength);
        off += keyLength;
      }
      const message: Message = { key, value: bytes.subarray(off, off + valueLength) };
      if (partition !== NONE) message.partition = partition;
      group[i] = message;
      off += valueLength;
    }
    groups.push(group);
  }
  return groups;
}

class ProducerThread {
  private nextId = 1;
  private readonly acks = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private closed: ((error?: string) => void) | null = null;
  dead: Error | null = null;

  private constructor(
    private readonly worker: Worker,
    onDeath: (err: Error) => void,
  ) {
    worker.on('message', (m: FromProducerThread) => {
      if (m.type === 'ack' || m.type === 'flushed') {
        const waiter = this.acks.get(m.id);
        this.acks.delete(m.id);
        if (m.type === 'ack' && m.error !== undefined) waiter?.reject(new Error(m.error));
        else waiter?.resolve();
      } else if (m.type === 'closed') this.closed?.(m.error);
    });
    const die = (err: Error) => {
      if (this.dead !== null) return;
      this.dead = err;
      for (const w of this.acks.values()) w.reject(err);
      this.acks.clear();
      if (this.closed === null) onDeath(err);
      else this.closed(err.message);
    };
    worker.on('error', die);
    worker.on('exit', (code) => die(new Error(`the Kafka producer thread exited with code ${code}`)));
  }

  static async start(data: ProducerThreadData, onDeath: (err: Error) => void): Promise<ProducerThread> {
    const worker = new Worker(new URL('./producer-thread-boot.mjs', import.meta.url), { workerData: data });
    const ready = await new Promise<FromProducerThread>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the Kafka producer thread exited with code ${code}`)));
    });
    if (ready.type !== 'ready' || ready.error !== undefined) {
      await worker.terminate();
      throw new Error(`the Kafka producer could not connect: ${ready.type === 'ready' ? ready.error : 'unexpected message'}`);
    }
    return new ProducerThread(worker, onDeath);
  }

  private request(build: (id: number) => { message: ToProducerThread; transfer?: ArrayBuffer[] }): Promise<void> {
    if (this.dead !== null) return Promise.reject(this.dead);
    const id = this.nextId++;
    const { message, transfer } = build(id);
    return new Promise((resolve, reject) => {
      this.acks.set(id, { resolve, reject });
      this.worker.postMessage(message, transfer);
    });
  }

  send(topics: string[], groups: Message[][]): Promise<void> {
    return this.request((id) => {
      const buffer = frameMessages(groups);
      return { message: { type: 'send', id, topics, counts: groups.map((g) => g.length), buffer }, transfer: [buffer] };
    });
  }

  flush(): Promise<void> {
    return this.request((id) => ({ message: { type: 'flush', id } }));
  }

  async close(): Promise<void> {
    if (this.dead !== null) return;
    const done = new Promise<string | undefined>((resolve) => (this.closed = resolve));
    this.worker.postMessage({ type: 'close' } satisfies ToProducerThread);
    let timer: NodeJS.Timeout | undefined;
    const error = await Promise.race([done, new Promise<string>((resolve) => (timer = setTimeout(() => resolve('no answer within 20 s'), 20_000)))]);
    clearTimeout(timer);
    await this.worker.terminate();
    if (error !== undefined) throw new Error(`the Kafka producer did not stop cleanly: ${error}`);
  }
}

export class ThreadedProducer implements MessageProducer {
  private thread: ProducerThread | null = null;
  private queue: Caller[] = [];
  private scheduled = false;
  private closing = false;

  private readonly data: ProducerThreadData;

  constructor(private readonly options: ThreadedProducerOptions) {
    const { onThreadDeath: _hook, ...data } = options;
    this.data = data;
  }

  /** Starts the thread and connects its producer; rejects if Kafka cannot be reached. */
  async connect(): Promise<void> {
    if (this.thread !== null) return;
    const thread = await ProducerThread.start(this.data, (err) => this.options.onThreadDeath?.(err));
    if (this.closing) {
      await thread.close().catch(() => undefined);
      throw new Error('the producer is closed');
    }
    this.thread = thread;
  }

  send(topic: string, messages: Message[]): Promise<void> {
    if (messages.length === 0) return Promise.resolve();
    if (this.closing) return Promise.reject(new Error('the producer is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ topic, messages, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.post());
      }
    });
  }

  /** Waits until everything sent so far is acknowledged (or failed). */
  async flush(): Promise<void> {
    this.post();
    const thread = this.thread;
    if (thread !== null && thread.dead === null) await thread.flush().catch(() => undefined);
  }

  async disconnect(): Promise<void> {
    await this.flush();
    this.closing = true;
    const thread = this.thread;
    this.thread = null;
    await thread?.close();
  }

  /** Posts everything queued in this turn as one framed batch. */
  private post(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const callers = this.queue;
    this.queue = [];
    const fail = (err: unknown) => {
      const error = err instanceof Error ? err : new Error(String(err));
      for (const c of callers) c.reject(error);
    };
    const thread = this.thread;
    if (thread === null || thread.dead !== null) {
      fail(thread?.dead ?? new Error('the producer is not connected'));
      return;
    }
    const byTopic = new Map<string, Message[]>();
    for (const c of callers) {
      const list = byTopic.get(c.topic);
      if (list === undefined) byTopic.set(c.topic, c.messages.slice());
      else for (const m of c.messages) list.push(m);
    }
    let sent: Promise<void>;
    try {
      sent = thread.send([...byTopic.keys()], [...byTopic.values()]);
    } catch (err) {
      fail(err);
      return;
    }
    sent.then(() => {
      for (const c of callers) c.resolve();
    }, fail);
  }
}
