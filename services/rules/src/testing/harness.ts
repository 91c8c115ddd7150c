/**
 * One isolated rules setup on the real stack: its own database (migrated), topic prefix and
 * consumer groups, an organization with a project, and helpers to store rules, produce events and
 * flows the way ingest and the collector do (Avro through the registry), start workers in this
 * process or as child processes, and watch the alerts topic. Shared by the tests and the benchmark.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { alertRecord, type AlertRecord, type EventRecord, type FlowRecord } from '@vigil/contracts';
import { loadConfig } from '@vigil/config';
import { createOrganization, createPool, createProject, createRule, migrate, setRuleEnabled, updateRule, type Pool, type StoredRule } from '@vigil/db';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics, runConsumer, type Codecs, type ConsumerRunner } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { parseRule, type Rule } from '@vigil/rule-engine';
import type { Registry } from '@vigil/service-runtime';
import { isolatedDatabase, silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import type { Kafka } from 'kafkajs';
import { rulesConfigShape, type RulesConfig } from '../config';
import { startRules, type RunningRules } from '../rules-service';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface Harness {
  databaseUrl: string;
  pool: Pool;
  topicPrefix: string;
  organizationId: number;
  projectId: number;
  kafka: Kafka;
  codecs: Codecs;
  env(overrides?: Record<string, string>): Record<string, string>;
  config(overrides?: Record<string, string>): RulesConfig;
  start(overrides?: Record<string, string>, logger?: Logger): Promise<RunningRules>;
  /** `node --import tsx services/rules/src/main.ts` with this harness's environment. */
  spawn(overrides?: Record<string, string>): ChildProcess;
  rule(input: object): Promise<StoredRule>;
  updateRule(id: string, input: object): Promise<StoredRule | null>;
  setEnabled(id: string, enabled: boolean): Promise<StoredRule | null>;
  /** Produces events keyed by event id, as ingest does; returns when Kafka acknowledged them. */
  produceEvents(events: readonly EventRecord[]): Promise<void>;
  /** Produces flows keyed by project and source address, as the collector does. */
  produceFlows(flows: readonly FlowRecord[]): Promise<void>;
  /** Starts collecting every record of the alerts topic (from its beginning). */
  watchAlerts(): Promise<AlertWatch>;
  close(): Promise<void>;
}

export interface AlertWatch {
  readonly records: AlertRecord[];
  created(): AlertRecord[];
  stop(): Promise<void>;
}

/** The sum of a metric's values in a registry, optionally only those with the given labels. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Polls `check` until it returns a value that is not undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Waits until `worker` read `inputs` input records, applied every message it routed, and
 * published every pending alert event (for a single worker that sees all partitions).
 */
export async function settle(worker: RunningRules, inputs: number, timeoutMs = 90_000): Promise<void> {
  const m = worker.metrics;
  await waitFor(`${inputs} input records routed`, async () => {
    const read = (await metricValue(m, 'vigil_rules_input_records_total')) + (await metricValue(m, 'vigil_rules_records_dropped_total', { stage: 'route' }));
    return read >= inputs;
  }, timeoutMs);
  await waitFor('every routed message applied', async () => {
    const done = (await metricValue(m, 'vigil_rules_records_applied_total')) + (await metricValue(m, 'vigil_rules_records_dropped_total', { stage: 'detect' }));
    return done >= (await metricValue(m, 'vigil_rules_repartitioned_total'));
  }, timeoutMs);
  await waitFor('the alert publisher', () => worker.status().publisher, timeoutMs);
  await worker.flushAlerts();
}

export function hexId(): string {
  return randomBytes(16).toString('hex');
}

/** A native security event as ingest writes it. */
export function securityEvent(projectId: number, over: Partial<EventRecord> = {}): EventRecord {
  const t = over.timestamp_ms ?? Date.now();
  return {
    event_id: hexId(),
    project_id: projectId,
    timestamp_ms: t,
    received_at_ms: t + 20,
    source: 'native',
    class: 'security',
    severity: 'medium',
    type: 'auth.login_failed',
    message: 'invalid password',
    exception_type: null,
    exception_value: null,
    platform: null,
    release: null,
    environment: 'production',
    tags: { service: 'sshd' },
    user: { id: null, email: null, username: 'root', ip_address: null },
    fingerprint: [],
    client_ip: '203.0.113.9',
    sdk_name: null,
    sdk_version: null,
    attributes: {},
    raw: Buffer.from('{}'),
    ...over,
  };
}

export async function createHarness(label = 'rules'): Promise<Harness> {
  const env = testEnv();
  const databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  const pool = createPool(databaseUrl);
  const topicPrefix = uniquePrefix(label);
  const organizationId = (await createOrganization(pool, 'acme')).id;
  const projectId = (await createProject(pool, organizationId, 'web')).project.id;
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'rules-test', logger: silentLogger() });
  await ensureTopics(kafka, topicPrefix);
  const codecs = await createCodecs(createSchemaRegistry(env.schemaRegistryUrl), topicPrefix);
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  const running: RunningRules[] = [];
  const children: ChildProcess[] = [];
  const watches: AlertWatch[] = [];

  const vars = (overrides: Record<string, string> = {}): Record<string, string> => ({
    KAFKA_BROKERS: env.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    DATABASE_URL: databaseUrl,
    VIGIL_TOPIC_PREFIX: topicPrefix,
    VIGIL_RULES_ADMIN_ADDR: '127.0.0.1:0',
    VIGIL_RULES_PARTITIONS: '8',
    VIGIL_RULES_RELOAD_INTERVAL: '1s',
    VIGIL_RULES_SESSION_TIMEOUT: '10s',
    VIGIL_LOG_LEVEL: 'warn',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
    ...overrides,
  });
  const parse = (input: object): Rule => {
    const r = parseRule(input);
    if (!r.ok) throw new Error(`invalid test rule: ${JSON.stringify(r.issues)}`);
    return r.value;
  };

  return {
    databaseUrl,
    pool,
    topicPrefix,
    organizationId,
    projectId,
    kafka,
    codecs,
    env: vars,
    config: (overrides) => loadConfig(rulesConfigShape, vars(overrides)),
    async start(overrides, logger) {
      const r = await startRules(loadConfig(rulesConfigShape, vars(overrides)), logger ?? silentLogger());
      running.push(r);
      return r;
    },
    spawn(overrides) {
      const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
        env: { ...process.env, ...vars(overrides) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.resume();
      children.push(child);
      return child;
    },
    rule: (input) => createRule(pool, organizationId, { ...parse(input) }),
    updateRule: (id, input) => updateRule(pool, organizationId, id, { ...parse(input) }),
    setEnabled: (id, enabled) => setRuleEnabled(pool, organizationId, id, enabled),
    async produceEvents(events) {
      const messages = await Promise.all(events.map(async (e) => ({ key: e.event_id, value: await codecs.events.encode(e) })));
      await producer.send(codecs.events.topic, messages);
    },
    async produceFlows(flows) {
      const messages = await Promise.all(flows.map(async (f) => ({ key: `${f.project_id}|${f.src_addr}`, value: await codecs.flows.encode(f) })));
      await producer.send(codecs.flows.topic, messages);
    },
    async watchAlerts() {
      const records: AlertRecord[] = [];
      const runner: ConsumerRunner = await runConsumer({
        kafka,
        groupId: `${topicPrefix}test.alerts.${randomBytes(3).toString('hex')}`,
        topics: [codecs.alerts.topic],
        logger: silentLogger(),
        fromBeginning: true,
        async handleBatch(batch) {
          for (const m of batch.messages) records.push(alertRecord.parse(await codecs.alerts.decode(m.value!)));
        },
      });
      const watch: AlertWatch = {
        records,
        created: () => records.filter((r) => r.event_type === 'alert.created'),
        stop: () => runner.stop(),
      };
      watches.push(watch);
      return watch;
    },
    async close() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      for (const w of watches) await w.stop().catch(() => undefined);
      for (const r of running) await r.stop().catch(() => undefined);
      await producer.disconnect();
      await pool.end();
      // Leave the shared broker as it was: every topic of this prefix (inputs, alerts, re-partition).
      const admin = kafka.admin();
      await admin.connect();
      try {
        const topics = (await admin.listTopics()).filter((t) => t.startsWith(topicPrefix));
        if (topics.length > 0) await admin.deleteTopics({ topics });
      } catch {
        // best effort
      } finally {
        await admin.disconnect();
      }
    },
  };
}
