/**
 * The internal re-partition topic's record: how the routing stage addresses a record to the worker
 * that holds its groups' state, and how the detection stage reads it back.
 *
 * - Key: `<project id>\u001f<group key>` — every rule that groups a record under the same values
 *   shares one message (the header lists them). All records of one (rule, project, group) have the
 *   same key, so they meet in one partition, in the order they were routed.
 * - Partition: murmur2(key) mod partitions, exactly as Kafka's default partitioner places keyed
 *   records, so the placement depends on the key alone and any Kafka client agrees with it.
 * - Value: the input record's bytes as they were consumed (Confluent-framed Avro), not re-encoded.
 * - Headers: the source (`events` | `flows`), the organization whose rules apply, the rule ids, and
 *   the origin — input partition, input offset and the message's index among those the record
 *   produced — by which the detection stage applies every input record once.
 */
import type { IHeaders } from 'kafkajs';
import type { Source } from '@vigil/rule-engine';

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
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
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

/** The partition Kafka's default partitioner gives a keyed record: toPositive(murmur2(key)) % n. */
export function partitionFor(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}
