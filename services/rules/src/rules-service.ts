/**
 * The rule engine service: two consumer groups and a publisher, wired.
 *
 *   vigil.events.v1 ┐  routing stage          re-partition topic        detection stage
 *   vigil.flows.v1  ┴─► (stateless: which  ──► keyed by project+group ──► (state per partition, ──► alerts + state + position
 *                        rule groups)                                      one engine per org)        in one PostgreSQL transaction
 *                                                                                                          │
 *                                                              alert publisher (one elected worker) ◄──────┘ outbox ──► vigil.alerts.v1
 *
 * docs/rules.md ("Running rules on the streams") states the guarantees and why they hold.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from '@vigil/db';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics, runConsumer, type BatchContext, type ConsumerRunner } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { createMetrics, startAdminServer, type Registry } from '@vigil/service-runtime';
import { ProjectDirectory } from './catalog/project-directory';
import { RuleCatalog, type RuleSet } from './catalog/rule-catalog';
import { watchRules, type RuleWatcher } from './catalog/rule-reload';
import type { RulesConfig } from './config';
import { DeadLetters } from './dead-letters';
import { DetectionStage } from './detect/detection-stage';
import { startAlertPublisher, type AlertPublisher } from './outbox/alert-publisher';
import { createGroupRouter } from './route/group-router';
import { ProjectedAvro } from './route/avro-projection';
import { RecordDecoder } from './route/record-decoding';
import { ensureRepartitionTopic } from './route/repartition-topic';
import { RoutingTable } from './route/routing-table';
import { createRulesMetrics, type RulesMetrics } from './rules-metrics';

export interface RulesStatus {
  /** Re-partition partitions assigned to this worker's detection stage at the last rebalance. */
  assignedPartitions: number[];
  /** Re-partition partitions whose state this worker holds in memory. */
  detectionPartitions: number[];
  rulesRevision: number;
  publisher: boolean;
}

export interface RunningRules {
  metrics: Registry;
  adminPort: number;
  status(): RulesStatus;
  /** Publishes every pending alert event now, if this worker is the publisher. */
  flushAlerts(): Promise<void>;
  stop(): Promise<void>;
}

type Stage = 'route' | 'detect';

/** A batch handler retried in place, with backoff, while it throws (PostgreSQL, Kafka or registry down). */
function retrying<T>(stage: Stage, handler: (batch: BatchContext) => Promise<T>, metrics: RulesMetrics, logger: Logger) {
  return async (batch: BatchContext): Promise<T> => {
    const end = metrics.batchSeconds.startTimer({ stage });
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await handler(batch);
        end();
        return result;
      } catch (err) {
        if (!batch.isRunning()) throw err;
        metrics.retries.inc({ stage });
        const delay = Math.min(5000, 100 * 2 ** Math.min(attempt, 10));
        logger.warn({ err, stage, topic: batch.topic, partition: batch.partition, attempt: attempt + 1, retry_in_ms: delay }, 'processing a batch failed; retrying');
        await sleep(delay);
        await batch.heartbeat();
      }
    }
  };
}

export async function startRules(config: RulesConfig, logger: Logger): Promise<RunningRules> {
  const prefix = config.VIGIL_TOPIC_PREFIX;
  const repartitionTopic = config.VIGIL_RULES_REPARTITION_TOPIC ?? `${prefix}rules.repartition.v1`;
  const registryMetrics = createMetrics('rules');
  const metrics = createRulesMetrics(registryMetrics);
  const concurrency = config.VIGIL_RULES_CONCURRENCY;
  const pool = createPool(config.DATABASE_URL, { max: concurrency + 4, applicationName: 'vigil-rules' });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'vigil-rules', logger });
  const registry = createSchemaRegistry(config.SCHEMA_REGISTRY_URL);
  const membership = { sessionTimeout: config.VIGIL_RULES_SESSION_TIMEOUT, heartbeatInterval: Math.max(500, Math.min(3000, Math.floor(config.VIGIL_RULES_SESSION_TIMEOUT / 3))) };

  const catalog = new RuleCatalog(pool, logger);
  const routing = new RoutingTable();
  let watcher: RuleWatcher | null = null;
  let producer: BatchingProducer | null = null;
  let publisher: AlertPublisher | null = null;
  let admin: ReturnType<typeof kafka.admin> | null = null;
  const runners: ConsumerRunner[] = [];
  const stopAll = async () => {
    for (const r of runners.splice(0)) await r.stop().catch((err: unknown) => logger.warn({ err }, 'consumer did not stop cleanly'));
    await publisher?.stop();
    await watcher?.stop();
    await producer?.disconnect().catch(() => undefined);
    await admin?.disconnect().catch(() => undefined);
    await pool.end();
  };

  let detection: DetectionStage;
  let assigned: number[] = [];
  try {
    const topics = await ensureTopics(kafka, prefix);
    const codecs = await createCodecs(registry, prefix);
    const partitions = await ensureRepartitionTopic(kafka, repartitionTopic, config.VIGIL_RULES_PARTITIONS, config.VIGIL_RULES_REPLICATION_FACTOR, logger);

    // One set of decoders (writer schemas and projected readers) for both stages.
    const decoder = new RecordDecoder(new ProjectedAvro(registry));
    detection = new DetectionStage({
      pool,
      topic: repartitionTopic,
      decoder,
      engineOptions: { allowedLatenessMs: config.VIGIL_RULES_ALLOWED_LATENESS, maxLagMs: config.VIGIL_RULES_MAX_LAG },
      rules: () => catalog.current,
      metrics,
      logger,
    });
    const stage = detection;
    const install = (set: RuleSet) => {
      routing.use(set);
      stage.useRules(set);
      metrics.reloads.inc({ outcome: 'applied' });
      metrics.rules.set({ state: 'running' }, [...set.byOrganization.values()].reduce((n, rules) => n + rules.length, 0));
      metrics.rules.set({ state: 'rejected' }, set.rejected);
    };
    catalog.onChange(install);
    await catalog.refresh(true);
    watcher = watchRules({
      catalog,
      databaseUrl: config.DATABASE_URL,
      intervalMs: config.VIGIL_RULES_RELOAD_INTERVAL,
      logger,
      onError: () => metrics.reloads.inc({ outcome: 'failed' }),
    });

    producer = new BatchingProducer(kafka);
    await producer.connect();
    admin = kafka.admin();
    await admin.connect();
    publisher = startAlertPublisher({ pool, databaseUrl: config.DATABASE_URL, kafka, producer, codec: codecs.alerts, metrics, logger });

    const detectGroup = config.VIGIL_RULES_DETECT_GROUP ?? `${prefix}rules.detect`;
    const detectRunner = await runConsumer({
      kafka,
      groupId: detectGroup,
      topics: [repartitionTopic],
      logger,
      fromBeginning: true,
      partitionsConsumedConcurrently: concurrency,
      // Larger batches: a group changed many times in a batch is written once.
      consumer: { ...membership, maxBytesPerPartition: 4 * 1024 * 1024, maxBytes: 32 * 1024 * 1024 },
      handleBatch: retrying('detect', (batch) => stage.handle(batch), metrics, logger),
      onConsumer: (consumer) => {
        consumer.on(consumer.events.GROUP_JOIN, (e) => {
          assigned = [...(e.payload.memberAssignment[repartitionTopic] ?? [])].sort((a, b) => a - b);
          stage.retain(new Set(assigned));
        });
      },
    });
    runners.push(detectRunner);

    const routeGroup = config.VIGIL_RULES_ROUTE_GROUP ?? `${prefix}rules.route`;
    const route = createGroupRouter({
      topics: { events: topics.events, flows: topics.flows },
      repartition: { topic: repartitionTopic, partitions },
      decoder,
      directory: new ProjectDirectory(pool),
      routing,
      producer,
      deadLetters: new DeadLetters(producer, codecs.deadletter),
      metrics,
    });
    runners.unshift(
      await runConsumer({
        kafka,
        groupId: routeGroup,
        topics: [topics.events, topics.flows],
        logger,
        fromBeginning: true,
        // Every partition of a fetch in flight at once: the router merges them into one round, and
        // produces it while the next round is fetched and prepared.
        partitionsConsumedConcurrently: 64,
        consumer: membership,
        prepareBatch: retrying('route', route, metrics, logger),
      }),
    );
    logger.info({ repartition_topic: repartitionTopic, partitions, route_group: routeGroup, detect_group: detectGroup }, 'rules consuming');
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }

  const connectedAdmin = admin;
  const server = await startAdminServer(config.VIGIL_RULES_ADMIN_ADDR, {
    metrics: registryMetrics,
    readiness: {
      postgres: async () => (await pool.query('select 1')).rowCount === 1,
      kafka: async () => (await connectedAdmin.describeCluster()).brokers.length > 0,
      rules: async () => catalog.current.revision >= 0,
    },
  });
  const address = server.address();
  const running = publisher;
  return {
    metrics: registryMetrics,
    adminPort: typeof address === 'object' && address !== null ? address.port : config.VIGIL_RULES_ADMIN_ADDR.port,
    status: () => ({ assignedPartitions: assigned, detectionPartitions: detection.heldPartitions(), rulesRevision: catalog.current.revision, publisher: running.isLeader() }),
    flushAlerts: () => running.flush(),
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await stopAll();
    },
  };
}
