/**
 * Which alert events are already on the alerts topic. Asked only about events whose publish was
 * attempted but never confirmed — the publisher died between Kafka's acknowledgement and marking
 * the row — so the topic carries each event once: found events are marked, the rest are sent.
 *
 * An attempted event can only have been written after it was attempted, so the scan starts at the
 * offsets Kafka finds for that time (less a margin for clock differences) and ends at the partitions'
 * high watermarks read before the scan.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { alertEventId } from '@vigil/db';
import type { TopicCodec } from '@vigil/kafka';

export interface PublishedCheckOptions {
  kafka: Kafka;
  codec: TopicCodec<'alerts'>;
  /** Ids (`alertEventId`) to look for. */
  ids: ReadonlySet<string>;
  /** No earlier than this could any of them have been written. */
  sinceMs: number;
  timeoutMs?: number;
}

const CLOCK_MARGIN_MS = 60_000;

export async function findPublished(o: PublishedCheckOptions): Promise<Set<string>> {
  const found = new Set<string>();
  if (o.ids.size === 0) return found;
  const topic = o.codec.topic;
  const admin = o.kafka.admin();
  await admin.connect();
  let ranges: Array<{ partition: number; from: number; to: number }>;
  try {
    const [starts, ends] = await Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, o.sinceMs - CLOCK_MARGIN_MS), admin.fetchTopicOffsets(topic)]);
    const end = new Map(ends.map((e) => [e.partition, Number(e.high)]));
    ranges = starts
      .map((s) => ({ partition: s.partition, from: Number(s.offset) < 0 ? (end.get(s.partition) ?? 0) : Number(s.offset), to: end.get(s.partition) ?? 0 }))
      .filter((r) => r.from < r.to);
  } finally {
    await admin.disconnect();
  }
  if (ranges.length === 0) return found;

  const groupId = `${topic}.published-check.${randomBytes(6).toString('hex')}`;
  const consumer = o.kafka.consumer({ groupId, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  const remaining = new Map(ranges.map((r) => [r.partition, r.to]));
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const to = remaining.get(batch.partition);
        if (to === undefined) return;
        for (const m of batch.messages) {
          if (Number(m.offset) >= to || m.value === null) continue;
          try {
            const r = await o.codec.decode(m.value);
            const id = alertEventId(r.id, r.event_type, r.updated_at_ms);
            if (o.ids.has(id)) found.add(id);
          } catch {
            // not an alert event we could have written
          }
        }
        if (Number(batch.lastOffset()) >= to - 1) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) done();
        }
      },
    });
    for (const r of ranges) consumer.seek({ topic, partition: r.partition, offset: String(r.from) });
    const timeoutMs = o.timeoutMs ?? 60_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      finished,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`reading ${topic} to check for published alert events took over ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await consumer.disconnect().catch(() => undefined);
    const cleanup = o.kafka.admin();
    await cleanup
      .connect()
      .then(() => cleanup.deleteGroups([groupId]))
      .catch(() => undefined)
      .finally(() => cleanup.disconnect().catch(() => undefined));
  }
  return found;
}
