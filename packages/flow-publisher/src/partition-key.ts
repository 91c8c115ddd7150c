/**
 * The Kafka key of a `vigil.flows.v1` message, and the partition it selects.
 *
 * Key: `<project_id>/<src_addr>` (UTF-8), e.g. `7/192.0.2.10` or `7/2001:db8::1`. The rule engine's
 * flow detections aggregate per source inside a project (distinct destination ports per source for
 * port scans, bytes per source for exfiltration, destinations per source and port for sweeps), so
 * every flow of one source in one project lands in one partition, in the order the collector received
 * it, and one rules consumer holds that source's whole window state. Keying by exporter instead would
 * split a source seen by two routers across partitions; keying by the 5-tuple would scatter a scan over
 * every partition.
 *
 * Partition: Java-compatible murmur2 of the key bytes, positive, modulo the partition count — the
 * Kafka Java client's (and kafkajs') default — so other producers of the topic agree.
 */

export function flowKeyText(projectId: number, srcAddr: string): string {
  return `${projectId}/${srcAddr}`;
}

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils#murmur2), as a signed 32-bit integer. */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest > 0) {
    if (rest === 3) h ^= data[tail + 2]! << 16;
    if (rest >= 2) h ^= data[tail + 1]! << 8;
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Hashes of key buffers, so a source seen again is not hashed again. */
const hashes = new WeakMap<Buffer, number>();

export function partitionForKey(key: Buffer, partitions: number): number {
  let h = hashes.get(key);
  if (h === undefined) {
    h = murmur2(key) & 0x7fffffff;
    hashes.set(key, h);
  }
  return h % partitions;
}

/**
 * Key buffers by project and source address. Bounded: when full it starts over (an exporter sees far
 * fewer active sources than the bound; a scan through random sources only costs re-encoding).
 */
export class FlowKeyCache {
  private readonly keys = new Map<string, Buffer>();

  constructor(private readonly maxEntries = 100_000) {}

  get(projectId: number, srcAddr: string): Buffer {
    const text = flowKeyText(projectId, srcAddr);
    let key = this.keys.get(text);
    if (key === undefined) {
      if (this.keys.size >= this.maxEntries) this.keys.clear();
      key = Buffer.from(text);
      this.keys.set(text, key);
    }
    return key;
  }
}
