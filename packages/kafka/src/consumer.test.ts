import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import type { Kafka } from 'kafkajs';
import { BatchingProducer, createKafka, runConsumer } from './index';

const env = testEnv();
const prefix = uniquePrefix('consumer');
const topic = `${prefix}work`;
let kafka: Kafka;

before(async () => {
  kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'consumer-test', logger: silentLogger() });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  await admin.disconnect();
});
after(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
});

async function committedOffset(groupId: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return Number(res?.partitions[0]?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

test('offsets are committed only for batches the handler finished; a failed batch is delivered again', async () => {
  const producer = new BatchingProducer(kafka, { lingerMs: 0 });
  await producer.connect();
  // Concurrent sends are merged into one produce request, and every caller is answered after the ack.
  await Promise.all(Array.from({ length: 20 }, (_, i) => producer.send(topic, [{ key: String(i), value: `m${i}` }])));
  await producer.disconnect();

  const groupId = `${prefix}group`;
  let attempts = 0;
  const handled: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const runner = await runConsumer({
    kafka,
    groupId,
    topics: [topic],
    logger: silentLogger(),
    consumer: { retry: { retries: 5, initialRetryTime: 50 } },
    async handleBatch(batch) {
      attempts += 1;
      if (attempts === 1) {
        // Nothing of this batch may be committed.
        throw new Error('database unavailable');
      }
      for (const m of batch.messages) handled.push(String(m.value));
      if (handled.length >= 20) done();
    },
  });
  await finished;
  await runner.stop();

  assert.ok(attempts >= 2, 'the failed batch was retried');
  assert.deepEqual([...new Set(handled)].sort(), Array.from({ length: 20 }, (_, i) => `m${i}`).sort(), 'every message handled after the failure');
  assert.equal(await committedOffset(groupId), 20, 'committed up to the last finished message');

  // A new member of the group starts after what was committed: nothing is handled twice.
  const again: string[] = [];
  const producer2 = new BatchingProducer(kafka);
  await producer2.connect();
  await producer2.send(topic, [{ key: 'x', value: 'after' }]);
  await producer2.disconnect();
  let got!: () => void;
  const arrived = new Promise<void>((r) => (got = r));
  const runner2 = await runConsumer({
    kafka,
    groupId,
    topics: [topic],
    logger: silentLogger(),
    async handleBatch(batch) {
      for (const m of batch.messages) again.push(String(m.value));
      got();
    },
  });
  await arrived;
  await runner2.stop();
  assert.deepEqual(again, ['after']);
  assert.equal(await committedOffset(groupId), 21);
});

test('pipelined: steps run in preparation order, offsets are committed after the step, and a failed step is run again with everything after it', async () => {
  const producer = new BatchingProducer(kafka, { lingerMs: 0 });
  await producer.connect();
  for (let i = 0; i < 6; i++) await producer.send(topic, [{ key: String(i), value: `p${i}` }]);
  await producer.disconnect();

  const groupId = `${prefix}pipelined`;
  let failures = 0;
  const stepped: string[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const runner = await runConsumer({
    kafka,
    groupId,
    topics: [topic],
    logger: silentLogger(),
    fromBeginning: true,
    consumer: { retry: { retries: 5, initialRetryTime: 50 }, maxBytesPerPartition: 64 },
    async prepareBatch(batch) {
      const values = batch.messages.map((m) => String(m.value)).filter((v) => v.startsWith('p'));
      return async () => {
        await new Promise((r) => setTimeout(r, 5));
        if (values.includes('p2') && failures === 0) {
          failures++;
          throw new Error('produce failed');
        }
        stepped.push(...values);
        if (stepped.includes('p5')) done();
      };
    },
  });
  await finished;
  await runner.stop();
  assert.equal(failures, 1);
  const firstP2 = stepped.indexOf('p2');
  // Nothing after the failed step ran before it succeeded: the steps ran in offset order.
  assert.deepEqual(stepped.slice(firstP2).filter((v, i, all) => all.indexOf(v) === i), ['p2', 'p3', 'p4', 'p5']);
  assert.equal(await committedOffset(groupId), 27, 'committed up to the last step that resolved');
});
