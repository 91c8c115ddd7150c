import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import type { Admin, Kafka } from 'kafkajs';
import { createKafka, frameMessages, ThreadedProducer, unframeMessages } from './index';

const env = testEnv();
const prefix = uniquePrefix('pthread');
let kafka: Kafka;
let admin: Admin;

before(async () => {
  kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'producer-thread-test', logger: silentLogger() });
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await admin.disconnect();
});

test('framing keeps partitions (set or not), keys (absent, text, bytes), values and their grouping', () => {
  const groups = [
    [
      { key: 'event-1', value: Buffer.from('one') },
      { key: null, value: Buffer.alloc(0), partition: 0 },
    ],
    [],
    [{ key: Buffer.from([0, 255, 7]), value: Buffer.from('three'), partition: 11 }],
  ];
  const back = unframeMessages(frameMessages(groups), groups.map((g) => g.length));
  assert.deepEqual(
    back.map((g) => g.map((m) => [m.partition, m.key === null ? null : (m.key as Buffer).toString('hex'), (m.value as Buffer).toString()])),
    [[[undefined, Buffer.from('event-1').toString('hex'), 'one'], [0, null, '']], [], [[11, '00ff07', 'three']]],
  );
  assert.throws(() => frameMessages([[{ key: 'k', value: Buffer.from('v'), headers: { a: 'b' } }]]), /partitions, keys and values only/);
});

test('every send resolves once Kafka holds its messages, keyed messages where the default partitioner puts them', async () => {
  const topic = `${prefix}.threaded`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 3, replicationFactor: 1 }], waitForLeaders: true });
  const producer = new ThreadedProducer({ brokers: env.kafkaBrokers, clientId: 'producer-thread-test', service: 'test', logLevel: 'silent', lingerMs: 1 });
  await producer.connect();
  // Many callers in one turn of the event loop share a batch; later ones form the next.
  const keys = Array.from({ length: 300 }, (_, i) => `key-${i % 30}`);
  await Promise.all(keys.map((key, i) => producer.send(topic, [{ key, value: Buffer.from(`value-${i}`) }])));
  await producer.send(topic, [{ key: 'key-0', value: Buffer.from('last') }]);
  const offsets = await admin.fetchTopicOffsets(topic);
  assert.equal(
    offsets.reduce((n, o) => n + Number(o.high), 0),
    301,
  );

  // The same keys through kafkajs's own producer land in the same partitions.
  const reference = kafka.producer();
  await reference.connect();
  const placed = await reference.send({ topic, messages: [{ key: 'key-0', value: 'reference' }] });
  await reference.disconnect();
  const consumer = kafka.consumer({ groupId: `${prefix}.reader` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen = new Map<string, Set<number>>();
  let count = 0;
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const key = message.key?.toString() ?? '';
          seen.set(key, (seen.get(key) ?? new Set()).add(partition));
          count += 1;
          if (count === 302) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  for (const [key, partitions] of seen) assert.equal(partitions.size, 1, `${key} in one partition`);
  assert.deepEqual([...seen.get('key-0')!], [placed[0]!.partition]);
  await producer.disconnect();
});

test('a producer that cannot reach Kafka rejects its sends instead of holding them', async () => {
  const producer = new ThreadedProducer({
    brokers: ['127.0.0.1:1'],
    clientId: 'producer-thread-test',
    service: 'test',
    logLevel: 'silent',
    lingerMs: 1,
    retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 },
  });
  await assert.rejects(producer.connect(), /could not connect/);
  await assert.rejects(producer.send(`${prefix}.nowhere`, [{ key: 'k', value: Buffer.from('v') }]));
  await producer.disconnect();
});
