export { createKafka } from './client';
export type { KafkaClientOptions } from './client';
export { ensureTopics } from './topics';
export { TopicCodec, createCodecs, createSchemaRegistry, registerSchema } from './codec';
export type { Codecs } from './codec';
export { BatchingProducer } from './producer';
export type { BatchingProducerOptions } from './producer';
export { runConsumer } from './consumer';
export type { BatchContext, ConsumerRunner, ConsumerRunnerOptions } from './consumer';
