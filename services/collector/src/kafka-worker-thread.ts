/**
 * The Kafka producer thread (see kafka-worker.ts): receives batches of encoded flow messages from the
 * collector's main thread, sends each through an idempotent acks=all BatchingProducer, and answers
 * with the acknowledgement or the error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Message } from 'kafkajs';
import { flowPartitioner } from '@vigil/flow-publisher';
import { BatchingProducer, createKafka } from '@vigil/kafka';
import { createLogger } from '@vigil/logging';
import type { KafkaWorkerData, ToMain, ToWorker } from './kafka-worker';

const port = parentPort!;
const data = workerData as KafkaWorkerData;
const logger = createLogger({ service: data.service, level: data.logLevel }).child({ thread: 'kafka' });
const kafka = createKafka({ brokers: data.brokers, clientId: data.clientId, logger });
const producer = new BatchingProducer(kafka, { lingerMs: 0, producer: { createPartitioner: flowPartitioner } });
const post = (m: ToMain) => port.postMessage(m);

/** Messages framed as [u32 partition][u32 key length][u32 value length][key][value]… in one transferred buffer. */
function unframe(buf: ArrayBuffer, count: number): Message[] {
  const view = new DataView(buf);
  const bytes = Buffer.from(buf);
  const messages: Message[] = new Array(count);
  let off = 0;
  for (let i = 0; i < count; i++) {
    const partition = view.getUint32(off);
    const keyLength = view.getUint32(off + 4);
    const valueLength = view.getUint32(off + 8);
    off += 12;
    const key = bytes.subarray(off, off + keyLength);
    off += keyLength;
    messages[i] = { key, value: bytes.subarray(off, off + valueLength), partition };
    off += valueLength;
  }
  return messages;
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'send') {
    producer.send(m.topic, unframe(m.buffer, m.count)).then(
      () => post({ type: 'ack', id: m.id }),
      (err: Error) => post({ type: 'ack', id: m.id, error: err.message }),
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
