import { csv, durationMs, listenAddr, logLevel, url } from '@vigil/config';
import { z } from 'zod';
import { flowsStoreConfigShape } from './flows/flows-config';

/** Every variable the store reads, validated once at start (CONTRACT.md §2). */
export const storeConfigShape = {
  KAFKA_BROKERS: csv('127.0.0.1:9092').refine((list) => list.length > 0, 'expected host:port[,host:port…]'),
  SCHEMA_REGISTRY_URL: url(['http', 'https']).default('http://127.0.0.1:8081/apis/ccompat/v7'),
  DATABASE_URL: url(['postgres', 'postgresql']),
  VIGIL_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"').default('vigil.'),
  VIGIL_STORE_ADMIN_ADDR: listenAddr('127.0.0.1:8051'),
  /** Days of events kept; older daily partitions are dropped. */
  VIGIL_EVENT_RETENTION_DAYS: z.coerce.number().int().min(1, 'expected at least 1 day').max(3650).default(30),
  /** Daily partitions created ahead of today. */
  VIGIL_STORE_PARTITIONS_AHEAD: z.coerce.number().int().min(1).max(60).default(3),
  /** Kafka partitions written at the same time (one database connection each). */
  VIGIL_STORE_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(3),
  /** Consumer group of the events sink; every store instance of one deployment shares it. */
  VIGIL_STORE_EVENTS_GROUP: z.string().min(1).optional(),
  VIGIL_STORE_MAINTENANCE_INTERVAL: durationMs('1h'),
  ...flowsStoreConfigShape,
  VIGIL_LOG_LEVEL: logLevel(),
};

export type StoreConfig = z.infer<z.ZodObject<typeof storeConfigShape>>;
