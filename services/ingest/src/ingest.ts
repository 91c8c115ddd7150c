import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createPool } from '@vigil/db';
import { AvroFlowWriter, FlowBodyDecoder, FlowMessageBuilder } from '@vigil/flow-publisher';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { adminRoutes, createMetrics, type Registry } from '@vigil/service-runtime';
import { Authorizer } from './auth/authorize';
import { KeyCache, projectKeyLookup } from './auth/key-cache';
import type { IngestConfig } from './config';
import type { IngestEndpoint } from './endpoints/endpoint';
import { envelopeEndpoint } from './endpoints/envelope';
import { flowsEndpoint } from './endpoints/flows';
import { nativeEventsEndpoint } from './endpoints/native-events';
import { storeEndpoint } from './endpoints/store';
import { EventLog } from './event-log/event-log';
import { sizeAvroScratchBuffer } from './event-log/event-messages';
import { Spool } from './event-log/spool';
import { clientIpResolver } from './http/client-ip';
import { IngestRequestHandler } from './http/ingest-request';
import { IngestServer } from './http/server';
import { IngestMetrics } from './outcomes/ingest-metrics';
import { KeyRateLimiter } from './quota/key-rate-limiter';

/** With a spool, how long a start waits for Kafka before accepting into the spool. */
const KAFKA_START_WAIT_MS = 5000;
/** How long a stop lets the producer flush. */
const KAFKA_STOP_WAIT_MS = 5000;

export interface RunningIngest {
  port: number;
  metrics: Registry;
  keys: KeyCache;
  /** Graceful stop: stop accepting, finish in-flight requests, flush the producer, disconnect. */
  stop(): Promise<void>;
}

/**
 * Wires ingest: PostgreSQL (keys), Redis (quotas), Kafka (the event log) and the HTTP server with
 * its endpoints. The flows endpoint joins `endpoints` with the same authorizer, limiter and event
 * log.
 */
export async function startIngest(config: IngestConfig, logger: Logger): Promise<RunningIngest> {
  const registry = createMetrics('ingest');
  const metrics = new IngestMetrics(registry);
  const pool = createPool(config.DATABASE_URL, { max: 4, applicationName: 'vigil-ingest' });
  const redis = new Redis(config.REDIS_URL, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
  });
  redis.on('error', () => undefined); // reported by the limiter when a sync fails
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'vigil-ingest', logger });
  const producer = new BatchingProducer(kafka, {
    lingerMs: config.VIGIL_INGEST_PRODUCE_LINGER,
    // Bounded retries: a write that cannot be acknowledged fails in seconds and is answered 503.
    producer: { retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 } },
  });
  let admin: ReturnType<typeof kafka.admin> | null = null;
  /** Readiness: a metadata request through an admin client, connected on first use. */
  const kafkaReachable = async (): Promise<boolean> => {
    if (admin === null) {
      const created = kafka.admin();
      await created.connect();
      admin = created;
      cleanups.push(() => created.disconnect());
    }
    return (await admin.describeCluster()).brokers.length > 0;
  };
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => logger.warn({ err }, 'stop step failed'));
  };

  try {
    cleanups.push(() => pool.end());
    await redis.connect().catch((err: unknown) => logger.warn({ err }, 'Redis unreachable at start; rate limits hold per instance until it is'));
    cleanups.push(async () => redis.disconnect());
    const codecs = await createCodecs(createSchemaRegistry(config.SCHEMA_REGISTRY_URL), config.VIGIL_TOPIC_PREFIX);
    const spool =
      config.VIGIL_INGEST_SPOOL_DIR === undefined
        ? null
        : await Spool.open({ dir: config.VIGIL_INGEST_SPOOL_DIR, maxBytes: config.VIGIL_INGEST_SPOOL_MAX_SIZE, logger });
    const connectKafka = async () => {
      await ensureTopics(kafka, config.VIGIL_TOPIC_PREFIX);
      await producer.connect();
    };
    const firstConnect = connectKafka();
    firstConnect.catch(() => undefined);
    let connected = true;
    if (spool === null) {
      // Without a spool ingest cannot accept anything while Kafka is down: fail the start (and be restarted).
      await firstConnect;
    } else {
      // With a spool, start within seconds whatever Kafka does; the event log connects when it can.
      connected = await Promise.race([firstConnect.then(() => true, () => false), sleep(KAFKA_START_WAIT_MS).then(() => false)]);
      if (!connected) logger.error('Kafka unreachable at start: accepting into the spool until it is');
    }
    // Every answered request is settled by now (acknowledged, spooled or refused): flushing what is
    // left for Kafka is best effort and must not hold the stop while Kafka is down.
    cleanups.push(() => Promise.race([producer.disconnect(), sleep(KAFKA_STOP_WAIT_MS)]));

    const keys = new KeyCache({
      lookup: projectKeyLookup(pool),
      ttlMs: config.VIGIL_INGEST_KEY_CACHE_TTL,
      onLookup: (result) => metrics.keyLookups.labels(result).inc(),
    });
    const limiter = new KeyRateLimiter({
      redis,
      defaultPerMinute: config.VIGIL_INGEST_RATE_LIMIT_PER_MINUTE,
      keyPrefix: `${config.VIGIL_TOPIC_PREFIX}ingest:quota:`,
      logger,
      onSyncError: () => metrics.rateLimiterErrors.inc(),
    });
    cleanups.push(() => limiter.close());
    const eventLog = new EventLog({
      producer,
      spool,
      spoolTopics: new Set([codecs.events.topic]),
      connected,
      connect: connectKafka,
      connecting: connected ? null : firstConnect,
      timeoutMs: config.VIGIL_INGEST_PRODUCE_TIMEOUT,
      maxPendingBytes: config.VIGIL_INGEST_MAX_PENDING_SIZE,
      logger,
      onFailure: (cause) => metrics.eventLogFailures.labels(cause).inc(),
      onState: (available) => metrics.eventLogState.set(available ? 1 : 0),
      onSpooled: (n) => metrics.spooled.inc(n),
      onSpoolDelivered: (n) => metrics.spoolDelivered.inc(n),
    });
    // Stopped before the producer disconnects: a delivery in progress finishes first.
    cleanups.push(() => eventLog.close());

    const maxEvent = config.VIGIL_INGEST_MAX_EVENT_SIZE;
    const maxEnvelope = config.VIGIL_INGEST_MAX_ENVELOPE_SIZE;
    // A value holds the raw event plus its normalized fields: at most about twice the event bound.
    sizeAvroScratchBuffer(2 * maxEvent + 64 * 1024);
    const flowBodies = new FlowBodyDecoder(new FlowMessageBuilder(new AvroFlowWriter(codecs.flows.schemaId)), {
      templateTtlMs: config.VIGIL_INGEST_FLOW_TEMPLATE_TTL,
    });
    cleanups.push(async () => flowBodies.close());
    const endpoints: IngestEndpoint[] = [
      envelopeEndpoint({ codec: codecs.events, maxEnvelopeBytes: maxEnvelope, maxEventBytes: maxEvent, metrics }) as IngestEndpoint,
      storeEndpoint({ codec: codecs.events, maxEventBytes: maxEvent }) as IngestEndpoint,
      nativeEventsEndpoint({ codec: codecs.events, maxBodyBytes: maxEnvelope, maxEventBytes: maxEvent }) as IngestEndpoint,
      flowsEndpoint({ bodies: flowBodies, topic: codecs.flows.topic, maxBodyBytes: maxEnvelope }) as IngestEndpoint,
    ];
    const handler = new IngestRequestHandler({
      authorizer: new Authorizer(keys),
      limiter,
      eventLog,
      metrics,
      logger,
      clientIp: clientIpResolver(config.VIGIL_INGEST_TRUSTED_PROXIES),
      unavailableRetryAfterSeconds: config.VIGIL_INGEST_RETRY_AFTER,
    });
    let server: IngestServer | null = null;
    const routes = adminRoutes({
      metrics: registry,
      readiness: {
        accepting: async () => server?.isAccepting() ?? false,
        // With a spool, Kafka being down does not stop ingest from accepting durably.
        event_log: async () => (spool !== null ? eventLog.canAccept() : eventLog.isAvailable() && (await kafkaReachable())),
        postgres: async () => (await pool.query('select 1')).rowCount === 1,
      },
    });
    server = new IngestServer({ endpoints, handler, adminRoutes: routes, metrics, logger });
    const created = server;
    metrics.observe({ pendingBytes: () => eventLog.pending(), spoolBytes: () => eventLog.spooled(), inFlight: () => created.inFlight() }, registry);
    const port = await server.listen(config.VIGIL_INGEST_ADDR);
    logger.info({ host: config.VIGIL_INGEST_ADDR.host, port }, 'ingest listening');
    const running = server;
    let stopping: Promise<void> | null = null;
    return {
      port,
      metrics: registry,
      keys,
      stop() {
        stopping ??= (async () => {
          await running.close(config.VIGIL_INGEST_SHUTDOWN_TIMEOUT);
          await cleanup();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
