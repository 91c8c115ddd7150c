/**
 * A real ingest for the tests: its own database (migrated, with an organization, a project and a
 * key), its own topic prefix, the shared Kafka, registry and Redis of the test run, and a consumer
 * that collects what reached `vigil.events.v1`. Not part of the service.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import type { EventRecord } from '@vigil/contracts';
import { createOrganization, createPool, createProject, createProjectKey, migrate, type Pool } from '@vigil/db';
import { createCodecs, createKafka, createSchemaRegistry, ensureTopics, runConsumer, type Codecs, type ConsumerRunner } from '@vigil/kafka';
import { silentLogger, testEnv, uniquePrefix, isolatedDatabase } from '@vigil/testkit';
import type { IngestConfig } from '../config';
import { startIngest, type RunningIngest } from '../ingest';

export interface TestIngest {
  ingest: RunningIngest;
  base: string;
  config: IngestConfig;
  /** Stops ingest (gracefully) and starts a new one with the same configuration. */
  restartIngest(): Promise<void>;
  pool: Pool;
  databaseUrl: string;
  prefix: string;
  codecs: Codecs;
  projectId: number;
  otherProjectId: number;
  publicKey: string;
  keyId: number;
  otherPublicKey: string;
  /** Events read back from Kafka, by event id. */
  seen: Map<string, EventRecord>;
  /** Waits until every id is in Kafka; returns their records. */
  inKafka(ids: string[], timeoutMs?: number): Promise<EventRecord[]>;
  /**
   * Reads the whole topic with a fresh consumer group and fails unless every id is there: the
   * check after a broker restart, which the long-lived reader may take a while to survive.
   */
  inKafkaFromScratch(ids: string[], timeoutMs?: number): Promise<void>;
  /** The body of /metrics. */
  metricsText(): Promise<string>;
  stop(): Promise<void>;
}

export interface TestIngestOptions {
  config?: Partial<IngestConfig>;
  kafkaBrokers?: string[];
  /** Skip the Kafka read-back consumer. */
  noReader?: boolean;
}

export async function startTestIngest(options: TestIngestOptions = {}): Promise<TestIngest> {
  const env = testEnv();
  const brokers = options.kafkaBrokers ?? env.kafkaBrokers;
  const prefix = uniquePrefix('ingest');
  const databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  const pool = createPool(databaseUrl);
  const org = await createOrganization(pool, 'acme');
  const { project, key } = await createProject(pool, org.id, 'web');
  const other = await createProject(pool, org.id, 'api');

  const config: IngestConfig = {
    VIGIL_INGEST_ADDR: { host: '127.0.0.1', port: 0 },
    KAFKA_BROKERS: brokers,
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: env.redisUrl,
    VIGIL_TOPIC_PREFIX: prefix,
    VIGIL_INGEST_MAX_EVENT_SIZE: 1024 * 1024,
    VIGIL_INGEST_MAX_ENVELOPE_SIZE: 20 * 1024 * 1024,
    VIGIL_INGEST_RATE_LIMIT_PER_MINUTE: 0,
    VIGIL_INGEST_KEY_CACHE_TTL: 4000,
    VIGIL_INGEST_PRODUCE_TIMEOUT: 5000,
    VIGIL_INGEST_MAX_PENDING_SIZE: 64 * 1024 * 1024,
    VIGIL_INGEST_RETRY_AFTER: 5,
    VIGIL_INGEST_PRODUCE_LINGER: 1,
    VIGIL_INGEST_SPOOL_DIR: undefined,
    VIGIL_INGEST_SPOOL_MAX_SIZE: 1024 * 1024 * 1024,
    VIGIL_INGEST_FLOW_TEMPLATE_TTL: 90 * 60_000,
    VIGIL_INGEST_TRUSTED_PROXIES: [],
    VIGIL_INGEST_SHUTDOWN_TIMEOUT: 20_000,
    VIGIL_LOG_LEVEL: 'warn',
    ...options.config,
  };
  const ingest = await startIngest(config, silentLogger());
  const base = `http://127.0.0.1:${ingest.port}`;

  const kafka = createKafka({ brokers, clientId: 'ingest-test-reader', logger: silentLogger() });
  await ensureTopics(kafka, prefix);
  const codecs = await createCodecs(createSchemaRegistry(env.schemaRegistryUrl), prefix);
  const seen = new Map<string, EventRecord>();
  let reader: ConsumerRunner | null = null;
  if (!options.noReader) {
    reader = await runConsumer({
      kafka,
      groupId: `${prefix}reader`,
      topics: [codecs.events.topic],
      logger: silentLogger(),
      async handleBatch(batch) {
        for (const m of batch.messages) {
          const record = await codecs.events.decode(m.value as Buffer);
          if (!seen.has(record.event_id)) seen.set(record.event_id, record);
        }
      },
    });
  }

  const t: TestIngest = {
    ingest,
    base,
    config,
    async restartIngest() {
      await t.ingest.stop();
      t.ingest = await startIngest(config, silentLogger());
      t.base = `http://127.0.0.1:${t.ingest.port}`;
    },
    pool,
    databaseUrl,
    prefix,
    codecs,
    projectId: project.id,
    otherProjectId: other.project.id,
    publicKey: key.public_key,
    keyId: key.id,
    otherPublicKey: other.key.public_key,
    seen,
    async inKafka(ids, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!ids.every((id) => seen.has(id))) {
        if (Date.now() > deadline) assert.fail(`not in Kafka after ${timeoutMs} ms: ${ids.filter((id) => !seen.has(id)).join(', ')}`);
        await sleep(50);
      }
      return ids.map((id) => seen.get(id) as EventRecord);
    },
    async inKafkaFromScratch(ids, timeoutMs = 120_000) {
      const found = new Set<string>();
      const wanted = new Set(ids);
      const fresh = await runConsumer({
        kafka,
        groupId: `${prefix}verify-${Date.now()}`,
        topics: [codecs.events.topic],
        logger: silentLogger(),
        async handleBatch(batch) {
          for (const m of batch.messages) {
            const id = m.key?.toString();
            if (id !== undefined && wanted.has(id)) found.add(id);
          }
        },
      });
      try {
        const deadline = Date.now() + timeoutMs;
        while (found.size < wanted.size) {
          if (Date.now() > deadline) {
            const missing = ids.filter((id) => !found.has(id));
            const where = missing.map((id) => `${id}@${ids.indexOf(id)}/${ids.length}${seen.has(id) ? ' (seen by the reader)' : ''}`);
            assert.fail(`not in Kafka after ${timeoutMs} ms (${found.size} of ${wanted.size} found): ${where.join(', ')}`);
          }
          await sleep(100);
        }
      } finally {
        await fresh.stop();
      }
    },
    async metricsText() {
      return (await fetch(`${t.base}/metrics`)).text();
    },
    async stop() {
      await t.ingest.stop();
      await reader?.stop();
      await pool.end();
    },
  };
  return t;
}

/** A second key for the project (e.g. to revoke it). */
export async function newKey(pool: Pool, projectId: number, rateLimitPerMinute: number | null = null): Promise<{ id: number; publicKey: string }> {
  const key = await createProjectKey(pool, projectId, 'test');
  if (rateLimitPerMinute !== null) await pool.query('update project_keys set rate_limit_per_minute = $1 where id = $2', [rateLimitPerMinute, key.id]);
  return { id: key.id, publicKey: key.public_key };
}
