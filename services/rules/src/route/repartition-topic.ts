/**
 * The internal re-partition topic: created on first start with the configured partitions; after
 * that its partition count is what it is. That count must never change — a (rule, group) maps to
 * `murmur2(key) mod partitions`, and its state lives with that partition — so a mismatch with the
 * configuration is reported and the existing count is used.
 */
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '@vigil/logging';

const WEEK_MS = String(7 * 24 * 3600 * 1000);

/** Waits (up to a minute: a busy broker propagates metadata slowly) until every partition has a leader. */
async function partitionsWithLeaders(admin: Admin, topic: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const partitions = metadata.topics[0]?.partitions ?? [];
      if (partitions.length > 0 && partitions.every((p) => p.leader >= 0)) return partitions.length;
    } catch (err) {
      if (!(err as { retriable?: boolean }).retriable || Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`topic ${topic} has no leader for every partition after a minute`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function ensureRepartitionTopic(kafka: Kafka, topic: string, partitions: number, replicationFactor: number, logger: Logger): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    if (!existing.has(topic)) {
      await admin
        .createTopics({
          waitForLeaders: false,
          topics: [{
            topic,
            numPartitions: partitions,
            replicationFactor,
            // Kept as long as the input topics: a detection stage that was down can still catch up.
            // Room for a record of the largest size the input topics take, plus the routing headers.
            configEntries: [
              { name: 'retention.ms', value: WEEK_MS },
              { name: 'compression.type', value: 'producer' },
              { name: 'max.message.bytes', value: String(8 * 1024 * 1024) },
            ],
          }],
        })
        .catch((err: { type?: string }) => {
          if (err.type !== 'TOPIC_ALREADY_EXISTS') throw err;
        });
    }
    const actual = await partitionsWithLeaders(admin, topic);
    if (actual !== partitions) {
      logger.warn({ topic, partitions: actual, configured: partitions }, 'the re-partition topic exists with another partition count; using it (the count of an existing topic must not change)');
    }
    return actual;
  } finally {
    await admin.disconnect();
  }
}
