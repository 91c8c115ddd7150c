import { createPool } from '@vigil/db';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { createMetrics, startAdminServer, type Registry } from '@vigil/service-runtime';
import type { StoreConfig } from './config';
import { DeadLetters } from './dead-letters';
import { createEventsSink } from './events/events-sink';
import { flowsSinkEntry } from './flows/flows-config';
import type { Sink } from './sink';
import { startSink, type RunningSink } from './sink-runner';
import { createStoreMetrics } from './store-metrics';

export interface RunningStore {
  metrics: Registry;
  /** Admin server address (`/healthz`, `/readyz`, `/metrics`). */
  adminPort: number;
  stop(): Promise<void>;
}

/**
 * The store: one consumer group per sink, each writing its topic into PostgreSQL. Today the events
 * sink; the flows sink is added to `sinks` beside it.
 */
export async function startStore(config: StoreConfig, logger: Logger): Promise<RunningStore> {
  const prefix = config.VIGIL_TOPIC_PREFIX;
  const metrics = createMetrics('store');
  const storeMetrics = createStoreMetrics(metrics);
  const pool = createPool(config.DATABASE_URL, { max: config.VIGIL_STORE_CONCURRENCY + 2, applicationName: 'vigil-store' });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'vigil-store', logger });
  const registry = createSchemaRegistry(config.SCHEMA_REGISTRY_URL);

  const running: RunningSink[] = [];
  let producer: BatchingProducer | null = null;
  let admin: ReturnType<typeof kafka.admin> | null = null;
  const stopAll = async () => {
    for (const sink of running.splice(0).reverse()) await sink.stop();
    await producer?.disconnect();
    await admin?.disconnect().catch(() => undefined);
    await pool.end();
  };

  try {
    await ensureTopics(kafka, prefix);
    const codecs = await createCodecs(registry, prefix);
    producer = new BatchingProducer(kafka);
    await producer.connect();
    admin = kafka.admin();
    await admin.connect();
    const deadLetters = new DeadLetters(producer, codecs.deadletter, 'store');

    const sinks: Array<{ sink: Sink; groupId: string }> = [
      {
        sink: createEventsSink({
          pool,
          codec: codecs.events,
          registry,
          deadLetters,
          metrics: storeMetrics,
          logger,
          retentionDays: config.VIGIL_EVENT_RETENTION_DAYS,
          aheadDays: config.VIGIL_STORE_PARTITIONS_AHEAD,
        }),
        groupId: config.VIGIL_STORE_EVENTS_GROUP ?? `${prefix}store.events`,
      },
      flowsSinkEntry(config, { pool, codec: codecs.flows, registry, deadLetters, metrics: storeMetrics, logger }),
    ];
    for (const { sink, groupId } of sinks) {
      running.push(
        await startSink({
          kafka,
          sink,
          groupId,
          logger,
          metrics: storeMetrics,
          concurrency: config.VIGIL_STORE_CONCURRENCY,
          maintenanceIntervalMs: config.VIGIL_STORE_MAINTENANCE_INTERVAL,
        }),
      );
    }
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }

  const connectedAdmin = admin;
  const server = await startAdminServer(config.VIGIL_STORE_ADMIN_ADDR, {
    metrics,
    readiness: {
      postgres: async () => (await pool.query('select 1')).rowCount === 1,
      kafka: async () => (await connectedAdmin.describeCluster()).brokers.length > 0,
      sinks: async () => running.every((s) => s.healthy()),
    },
  });
  const address = server.address();
  return {
    metrics,
    adminPort: typeof address === 'object' && address !== null ? address.port : config.VIGIL_STORE_ADMIN_ADDR.port,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stopAll();
    },
  };
}
