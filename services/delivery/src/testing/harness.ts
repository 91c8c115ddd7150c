/**
 * One isolated delivery setup on the real stack: its own database (migrated), topic prefix and
 * consumer group, BullMQ key prefix, an organization with a project, and helpers to create
 * endpoints and publish alert events. Shared by the tests and the benchmark.
 */
import { randomBytes } from 'node:crypto';
import type { AlertRecord } from '@vigil/contracts';
import { loadConfig } from '@vigil/config';
import { createOrganization, createPool, createProject, createWebhook, migrate, type Pool, type Webhook, type WebhookInput } from '@vigil/db';
import { createCodecs, createKafka, createSchemaRegistry, ensureTopics, type Codecs } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import type { Registry } from '@vigil/service-runtime';
import { isolatedDatabase, silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import { generateSecret } from '@vigil/webhook-signing';
import type { Producer } from 'kafkajs';
import { deliveryConfigShape, type DeliveryConfig } from '../config';
import { startDelivery, type RunningDelivery } from '../delivery';
import { createDeliveryQueue, redisConnection } from '../queue/delivery-queue';

export interface Harness {
  databaseUrl: string;
  pool: Pool;
  topicPrefix: string;
  queuePrefix: string;
  organizationId: number;
  projectId: number;
  codecs: Codecs;
  /** The environment a delivery process of this harness runs with (for child processes too). */
  env(overrides?: Record<string, string>): Record<string, string>;
  config(overrides?: Record<string, string>): DeliveryConfig;
  start(overrides?: Record<string, string>, logger?: Logger): Promise<RunningDelivery>;
  endpoint(url: string, input?: Partial<Omit<WebhookInput, 'organizationId' | 'url' | 'secret'>>): Promise<Webhook>;
  /** Publishes alert events; returns when Kafka acknowledged them. */
  publish(alerts: readonly AlertRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** The sum of a counter's values in a registry, optionally only those with the given labels. */
export async function counterValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

let sequence = 0;

/** An `alert.created` event of the harness project, stamped now; override anything. */
export function sampleAlert(projectId: number, overrides: Partial<AlertRecord> = {}): AlertRecord {
  const now = Date.now();
  sequence += 1;
  return {
    event_type: 'alert.created',
    id: `${randomBytes(12).toString('hex')}${String(sequence).padStart(8, '0')}`,
    rule_id: 'ssh-brute-force',
    rule_version: 1,
    project_id: projectId,
    severity: 'high',
    status: 'open',
    title: 'SSH brute force from 203.0.113.9',
    summary: '12 failed logins within 5m (threshold 10) for src=203.0.113.9',
    group_key: '["203.0.113.9"]',
    group_values: { src: '203.0.113.9' },
    window_start_ms: now - 300_000,
    window_end_ms: now,
    value: 12,
    threshold: 10,
    first_seen_ms: now - 250_000,
    last_seen_ms: now - 1000,
    evidence: { sample_event_ids: ['0123456789abcdef0123456789abcdef'] },
    tags: ['ssh', 'auth'],
    created_at_ms: now,
    updated_at_ms: now,
    actor: null,
    ...overrides,
  };
}

export async function createHarness(): Promise<Harness> {
  const env = testEnv();
  const databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  const pool = createPool(databaseUrl, { max: 4 });
  const topicPrefix = uniquePrefix('dlv');
  const queuePrefix = `vigil-test-${randomBytes(5).toString('hex')}`;
  const organizationId = (await createOrganization(pool, `org-${randomBytes(4).toString('hex')}`)).id;
  const projectId = (await createProject(pool, organizationId, 'web')).project.id;
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'delivery-test', logger: silentLogger() });
  // Topic creation waits for leaders; a broker busy with other work can still answer "unknown
  // topic" to that wait for a moment, so ask again.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await ensureTopics(kafka, topicPrefix);
      break;
    } catch (err) {
      if (attempt >= 10 || (err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  const codecs = await createCodecs(createSchemaRegistry(env.schemaRegistryUrl), topicPrefix);
  const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const running: RunningDelivery[] = [];

  const environment = (overrides: Record<string, string> = {}) => ({
    KAFKA_BROKERS: env.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: env.redisUrl,
    VIGIL_TOPIC_PREFIX: topicPrefix,
    VIGIL_DELIVERY_QUEUE_PREFIX: queuePrefix,
    VIGIL_DELIVERY_ADMIN_ADDR: '127.0.0.1:0',
    // What `vigil up` allows for local receivers (packages/cli/src/up.ts): every test receiver on
    // 127.0.0.1 is reached through it.
    VIGIL_WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8,::1/128',
    VIGIL_WEBHOOK_RETRY_SCHEDULE: '200ms,400ms,800ms',
    VIGIL_WEBHOOK_RETRY_JITTER: '0',
    VIGIL_DELIVERY_LOCK_DURATION: '5s',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
    ...overrides,
  });

  return {
    databaseUrl,
    pool,
    topicPrefix,
    queuePrefix,
    organizationId,
    projectId,
    codecs,
    env: environment,
    config: (overrides) => loadConfig(deliveryConfigShape, environment(overrides)),
    async start(overrides, logger = silentLogger()) {
      const delivery = await startDelivery(loadConfig(deliveryConfigShape, environment(overrides)), logger);
      running.push(delivery);
      return delivery;
    },
    endpoint: (url, input = {}) => createWebhook(pool, { organizationId, url, secret: generateSecret(), ...input }),
    async publish(alerts) {
      const messages = await Promise.all(alerts.map(async (a) => ({ key: a.id, value: await codecs.alerts.encode(a) })));
      for (let i = 0; i < messages.length; i += 500) {
        await producer.send({ topic: codecs.alerts.topic, acks: -1, messages: messages.slice(i, i + 500) });
      }
    },
    async close() {
      for (const delivery of running.splice(0)) await delivery.stop().catch(() => undefined);
      await producer.disconnect();
      await pool.end();
      const redis = redisConnection(env.redisUrl);
      const queue = createDeliveryQueue(redis, queuePrefix);
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      redis.disconnect();
    },
  };
}
