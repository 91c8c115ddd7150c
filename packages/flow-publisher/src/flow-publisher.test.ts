/**
 * The bounded publisher against real Kafka: concurrent submissions are merged into bounded requests
 * and each resolves once Kafka acknowledged it; the queue refuses what does not fit; a failed request
 * rejects the submissions it carried and is reported.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { BatchingProducer, createKafka, ensureTopics } from '@vigil/kafka';
import { silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import type { Kafka } from 'kafkajs';
import { FlowPublisher } from './flow-publisher';

let kafka: Kafka;
let producer: BatchingProducer;
let topic: string;

before(async () => {
  kafka = createKafka({ brokers: testEnv().kafkaBrokers, clientId: 'publisher-test', logger: silentLogger() });
  topic = (await ensureTopics(kafka, uniquePrefix('pub'))).flows;
  producer = new BatchingProducer(kafka, { lingerMs: 0 });
  await producer.connect();
});
after(async () => {
  await producer.disconnect();
});

const messages = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ key: Buffer.from(`1/10.0.0.${i % 200}`), value: Buffer.from(`${tag}-${i}`) }));

async function topicSize(): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

it('merges concurrent submissions into bounded requests, each acknowledged', async () => {
  const batches: number[] = [];
  const publisher = new FlowPublisher({ producer, topic, maxBatchMessages: 700, onBatch: (n) => batches.push(n) });
  const before = await topicSize();
  const acks: Promise<void>[] = [];
  for (let i = 0; i < 100; i++) acks.push(publisher.publish(messages(30, `s${i}`))!);
  acks.push(publisher.publish(messages(2_000, 'big'))!);
  await Promise.all(acks);
  await publisher.flush();
  assert.equal(await topicSize(), before + 5_000);
  assert.equal(batches.reduce((a, b) => a + b, 0), 5_000);
  assert.ok(batches.every((n) => n <= 700), `requests of ${batches.join(', ')} messages`);
  assert.ok(batches.length < 100, 'submissions were merged');
  assert.equal(publisher.pending, 0);
});

it('refuses submissions that do not fit the queue, without queuing any of them', async () => {
  const publisher = new FlowPublisher({ producer, topic, maxQueuedMessages: 100 });
  const first = publisher.publish(messages(50, 'a'));
  assert.ok(first, 'goes straight into a request');
  assert.ok(publisher.offer(messages(60, 'b')));
  assert.equal(publisher.queued, 60);
  assert.equal(publisher.publish(messages(60, 'c')), null);
  assert.equal(publisher.offer(messages(41, 'd')), false);
  assert.equal(publisher.queued, 60);
  await first;
  await publisher.flush();
  assert.equal(publisher.pending, 0);
});

it('rejects the submissions of a request Kafka did not acknowledge, and reports it', async () => {
  const failing = new BatchingProducer(kafka, { lingerMs: 0, producer: { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } } });
  await failing.connect();
  try {
    const errors: number[] = [];
    const publisher = new FlowPublisher({ producer: failing, topic: `${topic}.missing`, onError: (_err, n) => errors.push(n) });
    await assert.rejects(publisher.publish(messages(10, 'x'))!);
    assert.ok(publisher.offer(messages(5, 'y')));
    await publisher.flush();
    assert.deepEqual(errors, [10, 5]);
  } finally {
    await failing.disconnect();
  }
});
