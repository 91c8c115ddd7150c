import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Pool } from '@vigil/db';
import type { TopicCodec } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { z } from 'zod';
import type { DeadLetters } from '../dead-letters';
import type { Sink } from '../sink';
import type { StoreMetrics } from '../store-metrics';
import { createFlowsSink } from './flows-sink';

export const DEFAULT_FLOW_RETENTION_DAYS = 7;
export const DEFAULT_FLOW_ROLLUP_RETENTION_DAYS = 90;

const days = z.coerce.number().int().min(1, 'expected at least 1 day').max(3650);

/** The store's flow variables (spread into the store's config shape). */
export const flowsStoreConfigShape = {
  /** Days of raw flows kept, by flow end (default 7); older daily partitions are dropped. */
  VIGIL_FLOW_RETENTION_DAYS: days.optional(),
  /** Days of one-minute rollups kept (default 90); at least the raw flows' retention. */
  VIGIL_FLOW_ROLLUP_RETENTION_DAYS: days.optional(),
  /** Consumer group of the flows sink; every store instance of one deployment shares it. */
  VIGIL_STORE_FLOWS_GROUP: z.string().min(1).optional(),
};

type FlowsStoreConfig = { [K in keyof typeof flowsStoreConfigShape]?: z.infer<(typeof flowsStoreConfigShape)[K]> } & {
  VIGIL_TOPIC_PREFIX: string;
  VIGIL_STORE_PARTITIONS_AHEAD: number;
};

/** The flows sink and its consumer group, as the store runs every sink. */
export function flowsSinkEntry(
  config: FlowsStoreConfig,
  deps: { pool: Pool; codec: TopicCodec<'flows'>; registry: SchemaRegistry; deadLetters: DeadLetters; metrics: StoreMetrics; logger: Logger },
): { sink: Sink; groupId: string } {
  return {
    sink: createFlowsSink({
      ...deps,
      retentionDays: config.VIGIL_FLOW_RETENTION_DAYS ?? DEFAULT_FLOW_RETENTION_DAYS,
      rollupRetentionDays: config.VIGIL_FLOW_ROLLUP_RETENTION_DAYS ?? DEFAULT_FLOW_ROLLUP_RETENTION_DAYS,
      aheadDays: config.VIGIL_STORE_PARTITIONS_AHEAD,
    }),
    groupId: config.VIGIL_STORE_FLOWS_GROUP ?? `${config.VIGIL_TOPIC_PREFIX}store.flows`,
  };
}
