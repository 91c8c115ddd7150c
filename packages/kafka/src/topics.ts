import type { Admin, Kafka } from 'kafkajs';
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
      await waitForLeaders(admin, missing.map((k) => names[k]));
    }
  } finally {
    await admin.disconnect();
  }
  return names;
}

/**
 * `createTopics({ waitForLeaders })` returns once the controller has assigned leaders, which a client's
 * metadata can lag behind; producing at once can then meet NOT_LEADER. Wait until metadata shows a leader
 * for every partition, and until those leaders answer for their partitions (a broker can list itself
 * as leader in metadata a moment before it serves the partition: listing offsets then fails with
 * NOT_LEADER_OR_FOLLOWER).
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const meta = await admin.fetchTopicMetadata({ topics }).catch(() => null);
    const led = meta?.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0));
    if (led && (await servedByLeaders(admin, topics))) return;
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leader serving every partition after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function servedByLeaders(admin: Admin, topics: string[]): Promise<boolean> {
  try {
    for (const topic of topics) await admin.fetchTopicOffsets(topic);
    return true;
  } catch {
    return false;
  }
}
