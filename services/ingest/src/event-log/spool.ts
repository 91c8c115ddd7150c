import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import zlib from 'node:zlib';
import type { Message } from 'kafkajs';
import type { Logger } from '@vigil/logging';

/**
 * The on-disk spool: where ingest puts events while Kafka cannot take them, so it can still answer
 * 200 — only once the spool write is fsynced — and deliver them when Kafka is back.
 *
 * An append-only log of segment files `seg-<n>.log` in one directory (one ingest process per
 * directory, held by a lock file). Each request is one frame, so its events are delivered together:
 *
 *   'V' | u32 payload length | u32 CRC-32 of payload | payload
 *   payload: u16 topic length | topic | u32 count | count × (i32 key length, -1 for none | key | u32 value length | value)
 *
 * Concurrent appends are written and fsynced together (group commit). Reading starts at the oldest
 * segment; a segment is deleted once everything in it was delivered, so after a crash the oldest
 * segment may be delivered again (at-least-once; the store skips repeated event ids). On open, a
 * frame cut short by a crash is cut off the end — it was never acknowledged, since answers wait for
 * the fsync that covers it.
 */

export interface SpoolOptions {
  dir: string;
  /** Bytes held at most; an append beyond it is refused. */
  maxBytes: number;
  /** A new segment starts past this size. Default 16 MiB. */
  segmentBytes?: number;
  logger: Logger;
}

export interface SpooledWrite {
  topic: string;
  messages: Message[];
}

/** Where reading stopped: delivered up to here once `commit` is called with it. */
export interface SpoolPosition {
  segment: number;
  offset: number;
}

const MAGIC = 0x56;
const HEADER = 9;
const SEGMENT = /^seg-(\d{12})\.log$/;

const crc32: (data: Buffer) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (data) => zlib.crc32(data) : jsCrc32;

export class SpoolFullError extends Error {
  constructor(maxBytes: number) {
    super(`the spool holds its maximum of ${maxBytes} bytes`);
    this.name = 'SpoolFullError';
  }
}

interface PendingAppend {
  frame: Buffer;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class Spool {
  /** Segment numbers on disk, oldest first; the last one is appended to. */
  private segments: number[] = [];
  /** Valid bytes per segment (the tail's counts only what is fsynced). */
  private readonly sizes = new Map<number, number>();
  private head: SpoolPosition = { segment: 0, offset: 0 };
  private tail!: FileHandle;
  private tailWritten = 0;
  private queue: PendingAppend[] = [];
  private reserved = 0;
  private flushing: Promise<void> | null = null;
  private waiters: Array<() => void> = [];
  private closed = false;
  private readonly segmentBytes: number;
  private readonly lockFile: string;

  private constructor(private readonly o: SpoolOptions) {
    this.segmentBytes = o.segmentBytes ?? 16 * 1024 * 1024;
    this.lockFile = join(o.dir, 'lock');
  }

  /** Opens (or creates) the spool in `dir`, recovering what a previous process left. */
  static async open(o: SpoolOptions): Promise<Spool> {
    const spool = new Spool(o);
    mkdirSync(o.dir, { recursive: true });
    spool.lock();
    try {
      await spool.recover();
    } catch (error) {
      spool.unlock();
      throw error;
    }
    return spool;
  }

  /** Bytes spooled and not yet delivered (appends in progress included). */
  bytes(): number {
    let total = this.reserved - this.head.offset;
    for (const segment of this.segments) total += this.sizes.get(segment) ?? 0;
    return total;
  }

  isEmpty(): boolean {
    return this.bytes() === 0;
  }

  /** The most bytes the spool holds. */
  capacity(): number {
    return this.o.maxBytes;
  }

  /** Appends one request's messages; resolves once they are fsynced. Throws SpoolFullError when full. */
  append(topic: string, messages: Message[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the spool is closed'));
    const frame = encodeFrame(topic, messages);
    if (this.bytes() + frame.length > this.o.maxBytes) return Promise.reject(new SpoolFullError(this.o.maxBytes));
    this.reserved += frame.length;
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      this.kick();
    });
  }

  /** Resolves when something durable is there to read (or the spool closes). */
  waitForData(): Promise<void> {
    if (this.readable() > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Reads durable frames from the head, up to about `maxBytes`, without removing them. */
  async read(maxBytes: number): Promise<{ writes: SpooledWrite[]; end: SpoolPosition }> {
    const writes: SpooledWrite[] = [];
    let position = { ...this.head };
    let budget = maxBytes;
    while (budget > 0) {
      const size = this.sizes.get(position.segment) ?? 0;
      if (position.offset >= size) {
        const next = this.segments[this.segments.indexOf(position.segment) + 1];
        if (next === undefined) break;
        position = { segment: next, offset: 0 };
        continue;
      }
      const length = Math.min(size - position.offset, Math.max(budget, HEADER));
      const chunk = await readAt(this.path(position.segment), position.offset, length);
      let at = 0;
      while (at + HEADER <= chunk.length) {
        const frameLength = HEADER + chunk.readUInt32BE(at + 1);
        if (at + frameLength > chunk.length) break;
        writes.push(decodeFrame(chunk.subarray(at + HEADER, at + frameLength)));
        at += frameLength;
      }
      if (at === 0) {
        // One frame larger than the budget: read it alone.
        const frameLength = HEADER + chunk.readUInt32BE(1);
        const frame = await readAt(this.path(position.segment), position.offset, frameLength);
        writes.push(decodeFrame(frame.subarray(HEADER)));
        at = frameLength;
      }
      position = { segment: position.segment, offset: position.offset + at };
      budget -= at;
    }
    return { writes, end: position };
  }

  /** Everything before `end` was delivered: forget it, deleting segments read to their end. */
  async commit(end: SpoolPosition): Promise<void> {
    while (this.segments.length > 1 && (this.segments[0] as number) < end.segment) {
      const done = this.segments.shift() as number;
      this.sizes.delete(done);
      await unlink(this.path(done));
    }
    this.head = { ...end };
    // Fully delivered: empty the tail file, so it does not grow for ever and a restart does not
    // deliver it again. Serialized with appends, which write at the tail's end.
    await this.exclusive(async () => {
      const tail = this.segments.at(-1) as number;
      if (this.head.segment !== tail || this.head.offset !== this.tailWritten || this.tailWritten === 0) return;
      await this.tail.truncate(0);
      await this.tail.datasync();
      this.tailWritten = 0;
      this.sizes.set(tail, 0);
      this.head = { segment: tail, offset: 0 };
    });
  }

  /** Bytes that are durable and not yet delivered: what `read` can return now. */
  readable(): number {
    let total = -this.head.offset;
    for (const segment of this.segments) total += this.sizes.get(segment) ?? 0;
    return total;
  }

  /** Runs `fn` while no append is being written. */
  private async exclusive(fn: () => Promise<void>): Promise<void> {
    while (this.flushing !== null) await this.flushing;
    const run = fn();
    this.flushing = run
      .catch((error: unknown) => this.o.logger.warn({ err: error }, 'spool: emptying a delivered segment failed'))
      .finally(() => {
        this.flushing = null;
        this.kick();
      });
    await this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing !== null) await this.flushing;
    await this.tail.close();
    this.unlock();
    for (const wake of this.waiters.splice(0)) wake();
  }

  private kick(): void {
    if (this.flushing !== null || this.queue.length === 0) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = null;
      this.kick();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0);
    const bytes = batch.reduce((n, a) => n + a.frame.length, 0);
    try {
      if (this.tailWritten > 0 && this.tailWritten + bytes > this.segmentBytes) await this.rotate();
      const data = batch.length === 1 ? (batch[0] as PendingAppend).frame : Buffer.concat(batch.map((a) => a.frame), bytes);
      for (let done = 0; done < data.length; ) {
        const { bytesWritten } = await this.tail.write(data, done, data.length - done, this.tailWritten + done);
        done += bytesWritten;
      }
      await this.tail.datasync();
      this.tailWritten += bytes;
      this.sizes.set(this.segments.at(-1) as number, this.tailWritten);
      this.reserved -= bytes;
      for (const a of batch) a.resolve();
      for (const wake of this.waiters.splice(0)) wake();
    } catch (error) {
      // Nothing counts as written: the next flush writes over the same place.
      this.reserved -= bytes;
      for (const a of batch) a.reject(error as Error);
    }
  }

  private async rotate(): Promise<void> {
    await this.tail.close();
    const next = (this.segments.at(-1) ?? 0) + 1;
    this.tail = await open(this.path(next), 'w');
    this.segments.push(next);
    this.sizes.set(next, 0);
    this.tailWritten = 0;
  }

  private async recover(): Promise<void> {
    const found = (await readdir(this.o.dir))
      .map((name) => SEGMENT.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    let lost = 0;
    for (const segment of found) {
      const file = this.path(segment);
      const { size } = await stat(file);
      const valid = validLength(readFileSync(file));
      if (valid < size) {
        lost += size - valid;
        const handle = await open(file, 'r+');
        await handle.truncate(valid);
        await handle.close();
      }
      if (valid === 0) {
        await unlink(file);
        continue;
      }
      this.segments.push(segment);
      this.sizes.set(segment, valid);
    }
    if (lost > 0) this.o.logger.warn({ dir: this.o.dir, bytes: lost }, 'spool: cut off frames a crash left unfinished (never acknowledged)');
    const next = (this.segments.at(-1) ?? 0) + 1;
    this.tail = await open(this.path(next), 'w');
    this.segments.push(next);
    this.sizes.set(next, 0);
    this.head = { segment: this.segments[0] as number, offset: 0 };
    if (this.segments.length > 1) {
      this.o.logger.warn({ dir: this.o.dir, bytes: this.bytes() }, 'spool: events from an earlier run wait for delivery');
    }
  }

  private path(segment: number): string {
    return join(this.o.dir, `seg-${String(segment).padStart(12, '0')}.log`);
  }

  /** One process per spool directory: a lock file with the owner's pid, taken over when stale. */
  private lock(): void {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.lockFile, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const owner = Number(readFileSync(this.lockFile, 'utf8'));
        if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
          throw new Error(`spool directory ${this.o.dir} is in use by process ${owner}`);
        }
        unlinkSync(this.lockFile);
      }
    }
    throw new Error(`could not lock spool directory ${this.o.dir}`);
  }

  private unlock(): void {
    try {
      unlinkSync(this.lockFile);
    } catch {
      // already gone
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readAt(file: string, offset: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buffer.subarray(0, done);
  } finally {
    await handle.close();
  }
}

/** Length of the prefix made of whole, intact frames. */
function validLength(data: Buffer): number {
  let at = 0;
  while (at + HEADER <= data.length) {
    if (data[at] !== MAGIC) break;
    const length = data.readUInt32BE(at + 1);
    if (at + HEADER + length > data.length) break;
    if (crc32(data.subarray(at + HEADER, at + HEADER + length)) !== data.readUInt32BE(at + 5)) break;
    at += HEADER + length;
  }
  return at;
}

function toBuffer(value: Message['key'] | Message['value']): Buffer | null {
  if (value === null || value === undefined) return null;
  return Buffer.isBuffer(value) ? value : Buffer.from(value);
}

export function encodeFrame(topic: string, messages: readonly Message[]): Buffer {
  const topicBytes = Buffer.from(topic);
  const parts: Buffer[] = [];
  let length = 2 + topicBytes.length + 4;
  for (const m of messages) {
    const key = toBuffer(m.key);
    const value = toBuffer(m.value) ?? Buffer.alloc(0);
    length += 8 + (key?.length ?? 0) + value.length;
    parts.push(key ?? Buffer.alloc(0), value);
  }
  const frame = Buffer.allocUnsafe(HEADER + length);
  let at = HEADER;
  at = frame.writeUInt16BE(topicBytes.length, at);
  at += topicBytes.copy(frame, at);
  at = frame.writeUInt32BE(messages.length, at);
  messages.forEach((m, i) => {
    const key = parts[i * 2] as Buffer;
    const value = parts[i * 2 + 1] as Buffer;
    at = frame.writeInt32BE(m.key === null || m.key === undefined ? -1 : key.length, at);
    at += key.copy(frame, at);
    at = frame.writeUInt32BE(value.length, at);
    at += value.copy(frame, at);
  });
  frame[0] = MAGIC;
  frame.writeUInt32BE(length, 1);
  frame.writeUInt32BE(crc32(frame.subarray(HEADER)), 5);
  return frame;
}

function decodeFrame(payload: Buffer): SpooledWrite {
  let at = 0;
  const topicLength = payload.readUInt16BE(at);
  at += 2;
  const topic = payload.toString('utf8', at, at + topicLength);
  at += topicLength;
  const count = payload.readUInt32BE(at);
  at += 4;
  const messages: Message[] = [];
  for (let i = 0; i < count; i++) {
    const keyLength = payload.readInt32BE(at);
    at += 4;
    const key = keyLength < 0 ? null : Buffer.from(payload.subarray(at, at + keyLength));
    at += Math.max(0, keyLength);
    const valueLength = payload.readUInt32BE(at);
    at += 4;
    messages.push({ key, value: Buffer.from(payload.subarray(at, at + valueLength)) });
    at += valueLength;
  }
  return { topic, messages };
}

let crcTable: Int32Array | null = null;

/** CRC-32 (IEEE) for Node versions without `zlib.crc32` (before 20.15). */
function jsCrc32(data: Buffer): number {
  if (crcTable === null) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let crc = -1;
  for (const byte of data) crc = (crcTable[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
