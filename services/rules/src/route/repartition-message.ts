/**
 * The internal re-partition topic's records: how the routing stage addresses a record to the worker
 * that holds its groups' state, and how the detection stage reads it back.
 *
 * A record and the rules that group it under the same values form an *entry*, addressed by the key
 * `<project id>\u001f<group key>` to the partition murmur2(key) mod partitions — exactly where
 * Kafka's default partitioner would place a record with that key, so the placement depends on the
 * key alone and all records of one (rule, project, group) meet in one partition, in routing order.
 *
 * Entries are packed: one Kafka message carries the entries of one routing round bound for one
 * partition (several messages when they exceed `PACK_BYTES`), in routing order, so Kafka's
 * per-message costs (framing, headers, the client's encoding and decoding) are paid per partition
 * and round, not per record. A packed message (value only, no key or headers):
 *
 *   u8 0xFE, u8 version 1
 *   u32 n, n × rule list:  u16 count, count × (u16 length, UTF-8 rule id)
 *   u32 n, n × record:     u32 length, the input record's bytes as consumed (Confluent-framed Avro)
 *   u32 n, n × entry:      u8 source (0 events, 1 flows), f64 organization id, u32 input partition,
 *                          f64 input offset, u32 index, u32 rule list, u32 record
 *
 * (big-endian). Rule lists and records are stored once per message and referenced by the entries
 * that share them. The origin — input partition, offset, and the entry's index among those its
 * record produced — is what lets the detection stage apply every input record once.
 *
 * Messages written before packing — one record per message, its bytes as the value, the rest in
 * four headers (`vigil-source`, `vigil-organization`, `vigil-rules`, `vigil-origin`) — are still
 * read (`readRouted`).
 */
import type { IHeaders } from 'kafkajs';
import type { Source } from '@vigil/rule-engine';

/** Headers of a message of the earlier one-record-per-message format. */
export const HEADER_SOURCE = 'vigil-source';
export const HEADER_ORGANIZATION = 'vigil-organization';
export const HEADER_RULES = 'vigil-rules';
export const HEADER_ORIGIN = 'vigil-origin';

/** Where a routed record came from: which input partition and offset, and which of its messages this is. */
export interface Origin {
  /** `<source>:<input partition>` — one sequence of offsets. */
  stream: string;
  offset: number;
  index: number;
}

export interface RoutedMessage {
  source: Source;
  organizationId: number;
  ruleIds: string[];
  origin: Origin;
}

export function repartitionKey(projectId: number, groupKey: string): string {
  return `${projectId}\u001f${groupKey}`;
}

export function routedHeaders(source: Source, organizationId: number, ruleIds: readonly string[], inputPartition: number, offset: string, index: number): IHeaders {
  return {
    [HEADER_SOURCE]: source,
    [HEADER_ORGANIZATION]: String(organizationId),
    [HEADER_RULES]: ruleIds.join('\n'),
    [HEADER_ORIGIN]: `${inputPartition}:${offset}:${index}`,
  };
}

function text(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : Buffer.isBuffer(one) ? one.toString('utf8') : String(one);
}

/** Reads the headers back; null when they are not those of a routed record. */
export function readRouted(headers: IHeaders | undefined): RoutedMessage | null {
  const source = text(headers, HEADER_SOURCE);
  const org = Number(text(headers, HEADER_ORGANIZATION));
  const rules = text(headers, HEADER_RULES);
  const origin = /^(\d+):(\d+):(\d+)$/.exec(text(headers, HEADER_ORIGIN) ?? '');
  if ((source !== 'events' && source !== 'flows') || !Number.isSafeInteger(org) || org <= 0 || !rules || origin === null) return null;
  return {
    source,
    organizationId: org,
    ruleIds: rules.split('\n'),
    origin: { stream: `${source}:${origin[1]}`, offset: Number(origin[2]), index: Number(origin[3]) },
  };
}

/** Whether `a` comes after `b` in its stream (later offset, or a later message of the same record). */
export function isAfter(a: Pick<Origin, 'offset' | 'index'>, b: Pick<Origin, 'offset' | 'index'>): boolean {
  return a.offset > b.offset || (a.offset === b.offset && a.index > b.index);
}

/** Kafka's murmur2 (as in the Java client's `Utils.murmur2`), seed 0x9747b28c. */
export function murmur2(data: Uint8Array, length = data.length): number {
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i]! & 0xff) | ((data[i + 1]! & 0xff) << 8) | ((data[i + 2]! & 0xff) << 16) | ((data[i + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[whole + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[whole]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Scratch for keys' UTF-8 bytes (grown to the longest key seen). */
let keyBytes = new Uint8Array(256);

/** The partition Kafka's default partitioner gives a keyed record: toPositive(murmur2(key)) % n. */
export function partitionFor(key: string, partitions: number): number {
  const max = key.length * 3;
  if (keyBytes.length < max) keyBytes = new Uint8Array(Math.max(max, 2 * keyBytes.length));
  const { written } = textEncoder.encodeInto(key, keyBytes);
  return (murmur2(keyBytes, written) & 0x7fffffff) % partitions;
}

const textEncoder = new TextEncoder();

// ── packed messages ─────────────────────────────────────────────────────────────────────────

const PACKED_MAGIC = 0xfe;
const PACKED_VERSION = 1;
const ENTRY_BYTES = 1 + 8 + 4 + 8 + 4 + 4 + 4;
/** A packed message is closed once its entries reach this size (a single larger record goes alone). */
export const PACK_BYTES = 256 * 1024;

/** One entry to pack: a record routed to the rules `ruleIds` of one group key. */
export interface RoutedEntry {
  source: Source;
  organizationId: number;
  ruleIds: readonly string[];
  inputPartition: number;
  offset: number;
  index: number;
  /** The input record's bytes, as consumed. */
  record: Buffer;
}

/** Entries bound for one partition, packed into messages in order. */
export class PackWriter {
  private lists = new Map<string, { index: number; ids: readonly string[]; bytes: Buffer[] }>();
  private records = new Map<Buffer, number>();
  private recordList: Buffer[] = [];
  private entries: RoutedEntry[] = [];
  private entryLists: number[] = [];
  private size = 0;
  /** Finished messages, in order. */
  readonly messages: Buffer[] = [];
  /** Entries packed so far, over all messages. */
  count = 0;

  add(e: RoutedEntry): void {
    const listKey = e.ruleIds.length === 1 ? (e.ruleIds[0] as string) : e.ruleIds.join('\n');
    const recordBytes = this.records.has(e.record) ? 0 : 4 + e.record.length;
    let list = this.lists.get(listKey);
    const listBytes = list !== undefined ? 0 : e.ruleIds.reduce((n, id) => n + 2 + Buffer.byteLength(id), 2);
    if (this.entries.length > 0 && this.size + recordBytes + listBytes + ENTRY_BYTES > PACK_BYTES) {
      this.flush();
      this.add(e);
      return;
    }
    if (list === undefined) {
      list = { index: this.lists.size, ids: e.ruleIds, bytes: e.ruleIds.map((id) => Buffer.from(id, 'utf8')) };
      this.lists.set(listKey, list);
    }
    if (recordBytes > 0) {
      this.records.set(e.record, this.recordList.length);
      this.recordList.push(e.record);
    }
    this.entries.push(e);
    this.entryLists.push(list.index);
    this.size += recordBytes + listBytes + ENTRY_BYTES;
    this.count++;
  }

  /** Closes the message being filled (if any entries). */
  flush(): void {
    if (this.entries.length === 0) return;
    const lists = [...this.lists.values()];
    let total = 2 + 12;
    for (const l of lists) total += 2 + l.bytes.reduce((n, b) => n + 2 + b.length, 0);
    for (const r of this.recordList) total += 4 + r.length;
    total += this.entries.length * ENTRY_BYTES;
    const out = Buffer.allocUnsafe(total);
    let p = out.writeUInt8(PACKED_MAGIC, 0);
    p = out.writeUInt8(PACKED_VERSION, p);
    p = out.writeUInt32BE(lists.length, p);
    for (const l of lists) {
      p = out.writeUInt16BE(l.bytes.length, p);
      for (const b of l.bytes) {
        p = out.writeUInt16BE(b.length, p);
        p += b.copy(out, p);
      }
    }
    p = out.writeUInt32BE(this.recordList.length, p);
    for (const r of this.recordList) {
      p = out.writeUInt32BE(r.length, p);
      p += r.copy(out, p);
    }
    p = out.writeUInt32BE(this.entries.length, p);
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i] as RoutedEntry;
      p = out.writeUInt8(e.source === 'events' ? 0 : 1, p);
      p = out.writeDoubleBE(e.organizationId, p);
      p = out.writeUInt32BE(e.inputPartition, p);
      p = out.writeDoubleBE(e.offset, p);
      p = out.writeUInt32BE(e.index, p);
      p = out.writeUInt32BE(this.entryLists[i] as number, p);
      p = out.writeUInt32BE(this.records.get(e.record) as number, p);
    }
    this.messages.push(out);
    this.lists = new Map();
    this.records = new Map();
    this.recordList = [];
    this.entries = [];
    this.entryLists = [];
    this.size = 0;
  }
}

/** An entry as read back; `record` indexes the message's records. */
export interface PackedEntry {
  source: Source;
  organizationId: number;
  /** Indexes the message's rule lists. */
  list: number;
  origin: Origin;
  record: number;
}

export interface PackedMessage {
  ruleLists: string[][];
  records: Buffer[];
  entries: PackedEntry[];
}

export function isPacked(value: Buffer | null): value is Buffer {
  return value !== null && value.length >= 2 && value[0] === PACKED_MAGIC;
}

/** Reads a packed message; null when it is not one this version can read (truncated, unknown version, bad references). */
export function readPacked(value: Buffer): PackedMessage | null {
  if (!isPacked(value) || value[1] !== PACKED_VERSION) return null;
  try {
    let p = 2;
    const lists: string[][] = [];
    const listCount = value.readUInt32BE(p);
    p += 4;
    for (let i = 0; i < listCount; i++) {
      const ids: string[] = [];
      const idCount = value.readUInt16BE(p);
      p += 2;
      for (let j = 0; j < idCount; j++) {
        const len = value.readUInt16BE(p);
        p += 2;
        if (p + len > value.length) return null;
        ids.push(value.toString('utf8', p, p + len));
        p += len;
      }
      if (ids.length === 0) return null;
      lists.push(ids);
    }
    const records: Buffer[] = [];
    const recordCount = value.readUInt32BE(p);
    p += 4;
    for (let i = 0; i < recordCount; i++) {
      const len = value.readUInt32BE(p);
      p += 4;
      if (p + len > value.length) return null;
      records.push(value.subarray(p, p + len));
      p += len;
    }
    const n = value.readUInt32BE(p);
    p += 4;
    if (p + n * ENTRY_BYTES !== value.length) return null;
    const entries: PackedEntry[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const source = value[p] === 0 ? 'events' : value[p] === 1 ? 'flows' : null;
      const organizationId = value.readDoubleBE(p + 1);
      const inputPartition = value.readUInt32BE(p + 9);
      const offset = value.readDoubleBE(p + 13);
      const index = value.readUInt32BE(p + 21);
      const list = value.readUInt32BE(p + 25);
      const record = value.readUInt32BE(p + 29);
      p += ENTRY_BYTES;
      if (source === null || !Number.isSafeInteger(organizationId) || organizationId <= 0 || !Number.isSafeInteger(offset) || offset < 0 || list >= lists.length || record >= records.length) return null;
      entries[i] = { source, organizationId, list, origin: { stream: `${source}:${inputPartition}`, offset, index }, record };
    }
    return { ruleLists: lists, records, entries };
  } catch {
    return null; // read past the end
  }
}
