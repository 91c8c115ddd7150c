import { readFileSync } from 'node:fs';
import type { Queue, Worker } from 'bullmq';
import { failMessages, loadDeliverableMessages, parkMessages, recordAttempts, createPool, type AttemptRecord, type DeliverableMessage } from '@vigil/db';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics, runConsumer, type ConsumerRunner } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { createMetrics, Gauge, startAdminServer, type Registry } from '@vigil/service-runtime';
import { createAddressPolicy, createRetrySchedule, createWebhookAgents, type WebhookAgents } from '@vigil/webhook-signing';
import type { DeliveryConfig } from './config';
import { createDeliveryMetrics, type DeliveryMetrics } from './delivery-metrics';
import { createAlertFanout } from './fanout/alert-fanout';
import { assertNoEviction, createDeliveryQueue, redisConnection, type DeliveryJobData } from './queue/delivery-queue';
import { createEndpointResumer } from './recovery/endpoint-resume';
import { startPendingSweep, type PendingSweep } from './recovery/pending-sweep';
import { createDeliverJob } from './send/deliver-job';
import { startDeliveryWorker } from './send/delivery-worker';
import { EndpointGate } from './send/endpoint-gate';
import { RoundTripBatcher } from './send/round-trip-batcher';

export interface RunningDelivery {
  metrics: Registry;
  deliveryMetrics: DeliveryMetrics;
  queue: Queue<DeliveryJobData>;
  gate: EndpointGate;
  sweep: PendingSweep;
  /** Admin server port (`/healthz`, `/readyz`, `/metrics`). */
  adminPort: number;
  /** Stops consuming, lets in-flight requests finish and be recorded, then disconnects. */
  stop(): Promise<void>;
}

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * Delivery: a consumer group on the alerts topic fans alert events out to the endpoints that want
 * them (messages in PostgreSQL, one queue job each), and a BullMQ worker attempts them under the
 * endpoint gate, signing each attempt and recording it.
 */
export async function startDelivery(config: DeliveryConfig, logger: Logger): Promise<RunningDelivery> {
  const prefix = config.VIGIL_TOPIC_PREFIX;
  const metrics = createMetrics('delivery');
  const m = createDeliveryMetrics(metrics);
  const pool = createPool(config.DATABASE_URL, { max: 16, applicationName: 'vigil-delivery' });
  const redis = redisConnection(config.REDIS_URL);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'vigil-delivery', logger });
  const registry = createSchemaRegistry(config.SCHEMA_REGISTRY_URL);
  const policy = createAddressPolicy({ allowCidrs: config.VIGIL_WEBHOOK_ALLOW_CIDRS });
  const perEndpoint = config.VIGIL_WEBHOOK_ENDPOINT_CONCURRENCY;
  const concurrency = config.VIGIL_DELIVERY_CONCURRENCY;

  let queue: Queue<DeliveryJobData> | null = null;
  let producer: BatchingProducer | null = null;
  let agents: WebhookAgents | null = null;
  let worker: Worker<DeliveryJobData, string> | null = null;
  let consumer: ConsumerRunner | null = null;
  let sweep: PendingSweep | null = null;
  const gate = new EndpointGate({
    perEndpoint,
    waitingBudget: Math.max(1, Math.floor(concurrency / 2)),
    unhealthyBudget: Math.max(1, Math.floor(concurrency * config.VIGIL_WEBHOOK_UNHEALTHY_SHARE)),
    slowAfterMs: config.VIGIL_WEBHOOK_SLOW_AFTER,
    deferMaxMs: config.VIGIL_WEBHOOK_DEFER_MAX,
    resume: createEndpointResumer(pool, () => queue, m, logger),
  });

  const stopAll = async () => {
    await consumer?.stop().catch((err: unknown) => logger.error({ err }, 'consumer stop failed'));
    await sweep?.stop();
    gate.close();
    // Waits for the jobs in hand: their requests finish (within the total timeout) and are recorded.
    await worker?.close();
    await queue?.close();
    await producer?.disconnect().catch(() => undefined);
    agents?.destroy();
    redis.disconnect();
    await pool.end();
  };

  try {
    await assertNoEviction(redis, logger);
    await ensureTopics(kafka, prefix);
    const codecs = await createCodecs(registry, prefix);
    // Connected on the first dead letter: an idle Kafka connection costs CPU in kafkajs 2.2.4
    // (its request queue re-arms a timer in a loop), and most runs never dead-letter anything.
    producer = new BatchingProducer(kafka);
    const deadLetterProducer = producer;
    let producerReady: Promise<void> | null = null;
    const connectProducer = () => (producerReady ??= deadLetterProducer.connect());
    queue = createDeliveryQueue(redis, config.VIGIL_DELIVERY_QUEUE_PREFIX);
    // Idle keep-alive sockets are kept for every slot: endpoints often share a host (one gateway, many
    // paths), and a socket closed after each request costs a new TCP (and TLS) handshake.
    agents = createWebhookAgents(policy, { maxSockets: concurrency, maxFreeSockets: concurrency });

    const loader = new RoundTripBatcher<string, DeliverableMessage | null>(
      async (ids) => {
        const rows = new Map((await loadDeliverableMessages(pool, ids)).map((row) => [row.id, row]));
        return ids.map((id) => rows.get(id) ?? null);
      },
      { maxInFlight: 4 },
    );
    const recorder = new RoundTripBatcher<AttemptRecord, number | undefined>(async (records) => {
      const result = await recordAttempts(pool, records, { disableAfterMs: config.VIGIL_WEBHOOK_DISABLE_AFTER });
      for (const disabled of result.disabled) {
        m.endpointsDisabled.inc({ reason: disabled.reason });
        logger.warn({ webhook_id: disabled.webhookId, reason: disabled.reason }, 'webhook endpoint disabled');
      }
      return records.map((r) => result.attempts.get(r.messageId));
    }, { maxInFlight: 4 });

    const parker = new RoundTripBatcher<string, void>(async (ids) => {
      await parkMessages(pool, ids);
      return ids.map(() => undefined);
    });

    worker = startDeliveryWorker({
      connection: redis,
      prefix: config.VIGIL_DELIVERY_QUEUE_PREFIX,
      concurrency,
      lockDurationMs: config.VIGIL_DELIVERY_LOCK_DURATION,
      metrics: m,
      logger,
      processor: createDeliverJob({
        gate,
        load: (id) => loader.submit(id),
        record: (attempt) => recorder.submit(attempt),
        failDisabled: async (id) => {
          await failMessages(pool, [id], 'endpoint_disabled');
        },
        park: (id) => parker.submit(id),
        policy,
        agents,
        schedule: createRetrySchedule({
          delays: config.VIGIL_WEBHOOK_RETRY_SCHEDULE.map((d) => (/^\d+$/.test(d) ? Number(d) : d)),
          jitter: config.VIGIL_WEBHOOK_RETRY_JITTER,
        }),
        timeouts: { connectMs: config.VIGIL_WEBHOOK_CONNECT_TIMEOUT, totalMs: config.VIGIL_WEBHOOK_TIMEOUT },
        retryAfter: { min: config.VIGIL_WEBHOOK_RETRY_AFTER_MIN, max: config.VIGIL_WEBHOOK_RETRY_AFTER_MAX },
        userAgent: `Vigil/${VERSION}`,
        metrics: m,
        logger,
      }),
    });

    consumer = await runConsumer({
      kafka,
      groupId: config.VIGIL_DELIVERY_GROUP ?? `${prefix}delivery`,
      topics: [codecs.alerts.topic],
      logger,
      partitionsConsumedConcurrently: 3,
      handleBatch: createAlertFanout({
        pool,
        queue,
        codec: codecs.alerts,
        deadLetters: { producer, codec: codecs.deadletter, connect: connectProducer },
        metrics: m,
        logger,
        delayFor: (message) => {
          const plan = gate.planNewJob(message.webhook_id);
          return plan.kind === 'park' ? null : plan.kind === 'hold' ? plan.delayMs : 0;
        },
        park: async (messages) => {
          await parkMessages(pool, messages.map((p) => p.id));
          const perEndpoint = new Map<string, number>();
          for (const p of messages) perEndpoint.set(p.webhook_id, (perEndpoint.get(p.webhook_id) ?? 0) + 1);
          for (const [webhookId, n] of perEndpoint) gate.noteParked(webhookId, n);
        },
      }),
    });

    sweep = startPendingSweep({
      pool,
      queue,
      intervalMs: config.VIGIL_DELIVERY_RECOVERY_INTERVAL,
      overdueMs: config.VIGIL_DELIVERY_RECOVERY_AFTER,
      retentionMs: config.VIGIL_WEBHOOK_RETENTION,
      metrics: m,
      logger,
    });
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }

  const liveQueue = queue;
  const liveWorker = worker;
  const liveConsumer = consumer;
  new Gauge({
    name: 'vigil_delivery_queue_jobs',
    help: 'Jobs in the delivery queue by state (waiting, delayed, active, failed; prioritized is unused)',
    labelNames: ['state'],
    registers: [metrics],
    async collect() {
      const counts = await liveQueue.getJobCounts('waiting', 'delayed', 'active', 'failed');
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'vigil_delivery_unhealthy_endpoints',
    help: 'Endpoints this process treats as in trouble (failing, slow or paused by Retry-After), counted at scrape time',
    registers: [metrics],
    collect() {
      this.set(gate.troubledCount());
    },
  });

  const server = await startAdminServer(config.VIGIL_DELIVERY_ADMIN_ADDR, {
    metrics,
    readiness: {
      postgres: async () => (await pool.query('select 1')).rowCount === 1,
      redis: async () => (await redis.ping()) === 'PONG',
      // Through the consumer's own connection to the group coordinator.
      kafka: async () => (await liveConsumer.consumer.describeGroup()).state !== 'Dead',
      worker: async () => liveWorker.isRunning(),
    },
  });
  const address = server.address();
  const liveSweep = sweep;
  let stopping: Promise<void> | null = null;
  return {
    metrics,
    deliveryMetrics: m,
    queue: liveQueue,
    gate,
    sweep: liveSweep,
    adminPort: typeof address === 'object' && address !== null ? address.port : config.VIGIL_DELIVERY_ADMIN_ADDR.port,
    stop() {
      stopping ??= (async () => {
        await stopAll();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return stopping;
    },
  };
}
