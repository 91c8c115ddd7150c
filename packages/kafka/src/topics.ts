import type { Kafka } from 'kafkajs';
import { TOPIC_SPECS, topicNames, type TopicKey } from '@vigil/contracts';

/**
 * Creates the four topics for a prefix if they are missing, with the partition counts and configs of
 * the contract. Existing topics are left as they are (partition counts are never reduced).
 */
export async function ensureTopics(kafka: Kafka, prefix: string, replicationFactor = 1): Promise<Record<TopicKey, string>> {
  const names = topicNames(prefix);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = (Object.keys(names) as TopicKey[]).filter((k) => !existing.has(names[k]));
    if (missing.length) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((k) => ({
          topic: names[k],
          numPartitions: TOPIC_SPECS[k].partitions,
          replicationFactor,
          configEntries: Object.entries(TOPIC_SPECS[k].config).map(([name, value]) => ({ name, value })),
        })),
      });
    }
  } finally {
    await admin.disconnect();
  }
  return names;
}
