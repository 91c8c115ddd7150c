/**
 * The producer thread of `ThreadedProducer` (producer-thread.ts): receives framed batches from the
 * service's main thread, sends them through an idempotent acks=all `BatchingProducer` (which merges
 * what arrives while a request is in flight), and answers each batch with its acknowledgement or
 * the error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '@vigil/logging';
import { createKafka } from './client';
import { BatchingProducer } from './producer';
import { unframeMessages, type FromProducerThread, type ProducerThreadData, type ToProducerThread } from './producer-thread';

const port = parentPort!;
const data = workerData as ProducerThreadData;
const logger = createLogger({ service: data.service, level: data.logLevel }).child({ thread: 'kafka-producer' });
const kafka = createKafka({ brokers: data.brokers, clientId: data.clientId, logger });
const producer = new BatchingProducer(kafka, {
  lingerMs: data.lingerMs,
  ...(data.retry === undefined ? {} : { producer: { retry: data.retry } }),
});
const post = (m: FromProducerThread) => port.postMessage(m);

port.on('message', (m: ToProducerThread) => {
  if (m.type === 'send') {
    const groups = unframeMessages(m.buffer, m.counts);
    Promise.all(groups.map((messages, i) => producer.send(m.topics[i] as string, messages))).then(
      () => post({ type: 'ack', id: m.id }),
      (err: Error) => post({ type: 'ack', id: m.id, error: err.message }),
    );
  } else if (m.type === 'flush') {
    producer.flush().then(
      () => post({ type: 'flushed', id: m.id }),
      () => post({ type: 'flushed', id: m.id }),
    );
  } else if (m.type === 'close') {
    producer.disconnect().then(
      () => post({ type: 'closed' }),
      (err: Error) => post({ type: 'closed', error: err.message }),
    );
  }
});

producer.connect().then(
  () => post({ type: 'ready' }),
  (err: Error) => post({ type: 'ready', error: err.message }),
);
