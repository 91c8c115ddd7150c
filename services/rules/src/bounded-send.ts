/**
 * Producing many messages without exceeding what Kafka accepts in one request: the broker refuses a
 * record batch above `message.max.bytes` (1 MiB by default), and one round of routing can send far
 * more than that to a single partition (a rule without group-by sends every record of its project to
 * one). Messages are sent in consecutive requests of at most `maxBytes`, each acknowledged before the
 * next is sent, so their order — per partition — is kept.
 */
import type { Message } from 'kafkajs';
import type { BatchingProducer } from '@vigil/kafka';

export const MAX_REQUEST_BYTES = 512 * 1024;

/** Bytes a message takes in a record batch, roughly (value, key, headers and per-record overhead). */
function sizeOf(m: Message): number {
  let size = 64 + (m.value === null || m.value === undefined ? 0 : typeof m.value === 'string' ? Buffer.byteLength(m.value) : m.value.length);
  if (m.key !== null && m.key !== undefined) size += typeof m.key === 'string' ? Buffer.byteLength(m.key) : m.key.length;
  for (const [name, value] of Object.entries(m.headers ?? {})) size += name.length + 8 + (typeof value === 'string' ? Buffer.byteLength(value) : Buffer.isBuffer(value) ? value.length : 0);
  return size;
}

export async function sendBounded(producer: BatchingProducer, topic: string, messages: readonly Message[], maxBytes = MAX_REQUEST_BYTES): Promise<void> {
  let chunk: Message[] = [];
  let bytes = 0;
  for (const m of messages) {
    const size = sizeOf(m);
    if (chunk.length > 0 && bytes + size > maxBytes) {
      await producer.send(topic, chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(m);
    bytes += size;
  }
  if (chunk.length > 0) await producer.send(topic, chunk);
}
