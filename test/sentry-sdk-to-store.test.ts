/**
 * The real `@sentry/node` SDK, initialised with a Vigil DSN, reports to a running ingest; the store
 * consumes the topic. Each captured event must arrive normalized in `vigil.events.v1` and as a row
 * in PostgreSQL.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as Sentry from '@sentry/node';
import { eventRecord } from '@vigil/contracts';
import { silentLogger, testEnv } from '@vigil/testkit';
import { startTestIngest, type TestIngest } from '../services/ingest/src/testing/test-ingest';
import { startStore, type RunningStore } from '../services/store/src/store';

const sdkVersion = (createRequire(import.meta.url)('@sentry/node/package.json') as { version: string }).version;
const env = testEnv();
let t: TestIngest;
let store: RunningStore;
const ids: Record<string, string> = {};
let startedAt = 0;

before(async () => {
  t = await startTestIngest();
  store = await startStore(
    {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: t.databaseUrl,
      VIGIL_TOPIC_PREFIX: t.prefix,
      VIGIL_STORE_ADMIN_ADDR: { host: '127.0.0.1', port: 0 },
      VIGIL_EVENT_RETENTION_DAYS: 30,
      VIGIL_STORE_PARTITIONS_AHEAD: 2,
      VIGIL_STORE_CONCURRENCY: 2,
      VIGIL_STORE_EVENTS_GROUP: `${t.prefix}store`,
      VIGIL_STORE_MAINTENANCE_INTERVAL: 3_600_000,
      VIGIL_LOG_LEVEL: 'warn',
    },
    silentLogger(),
  );

  startedAt = Date.now();
  Sentry.init({
    dsn: `http://${t.publicKey}@127.0.0.1:${t.ingest.port}/${t.projectId}`,
    release: 'shop@2.4.1',
    environment: 'production',
  });
  Sentry.setUser({ id: 'u-42', email: 'grace@example.com', username: 'grace', ip_address: '{{auto}}' });
  Sentry.setTag('vigil.class', 'security');
  Sentry.setTag('service', 'checkout');
  ids['exception'] = Sentry.captureException(new RangeError('card number out of range'));
  Sentry.withScope((scope) => {
    scope.setTag('attempt', '2');
    scope.setFingerprint(['payment', 'declined']);
    ids['message'] = Sentry.captureMessage('payment declined for order 1234', 'warning');
  });
  Sentry.setTag('vigil.class', 'error');
  ids['plain'] = Sentry.captureMessage('cache warm-up took 12 s', 'info');
  assert.equal(await Sentry.flush(10_000), true, 'the SDK delivered everything');
  await Sentry.close(5000);
});

after(async () => {
  await store?.stop();
  await t?.stop();
});

async function rowOf(id: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { rows } = await t.pool.query(`select * from events where event_id = $1::uuid`, [id]);
    if (rows[0]) return rows[0] as Record<string, unknown>;
    assert.ok(Date.now() < deadline, `event ${id} not in PostgreSQL`);
    await sleep(100);
  }
}

test('captureException: an error record with exception, tags, user, release and SDK in Kafka and PostgreSQL', async () => {
  const id = ids['exception'] as string;
  // avsc decodes nested records into generated classes; compare their plain content.
  const record = eventRecord.parse((await t.inKafka([id]))[0]);
  assert.ok(record.timestamp_ms >= startedAt - 1000 && record.timestamp_ms <= record.received_at_ms + 1000);
  assert.deepEqual(
    { ...record, raw: undefined, attributes: undefined, timestamp_ms: undefined, received_at_ms: undefined },
    {
      event_id: id,
      project_id: t.projectId,
      timestamp_ms: undefined,
      received_at_ms: undefined,
      source: 'sentry',
      class: 'security',
      severity: 'high',
      type: 'error',
      message: 'card number out of range',
      exception_type: 'RangeError',
      exception_value: 'card number out of range',
      platform: 'node',
      release: 'shop@2.4.1',
      environment: 'production',
      tags: { 'vigil.class': 'security', service: 'checkout' },
      user: { id: 'u-42', email: 'grace@example.com', username: 'grace', ip_address: '127.0.0.1' },
      fingerprint: [],
      client_ip: '127.0.0.1',
      sdk_name: 'sentry.javascript.node',
      sdk_version: sdkVersion,
      attributes: undefined,
      raw: undefined,
    },
  );
  assert.equal((JSON.parse(record.raw.toString('utf8')) as { event_id: string }).event_id, id);

  const row = await rowOf(id);
  assert.equal(row.project_id, t.projectId);
  assert.equal((row.timestamp as Date).getTime(), record.timestamp_ms);
  assert.deepEqual(
    [row.source, row.class, row.severity, row.type, row.message, row.exception_type, row.exception_value, row.platform, row.release, row.environment],
    ['sentry', 'security', 'high', 'error', 'card number out of range', 'RangeError', 'card number out of range', 'node', 'shop@2.4.1', 'production'],
  );
  assert.deepEqual(row.tags, { 'vigil.class': 'security', service: 'checkout' });
  assert.deepEqual([row.user_id, row.user_email, row.user_username, row.user_ip_address], ['u-42', 'grace@example.com', 'grace', '127.0.0.1']);
  assert.deepEqual([row.client_ip, row.sdk_name, row.sdk_version], ['127.0.0.1', 'sentry.javascript.node', sdkVersion]);
  assert.equal(((row.attributes as { contexts: { runtime: { name: string } } }).contexts.runtime.name), 'node');
  assert.deepEqual(row.raw, record.raw);
});

test('captureMessage with a scope: level, fingerprint and scope tags', async () => {
  const id = ids['message'] as string;
  const [record] = await t.inKafka([id]);
  assert.deepEqual(
    [record?.type, record?.severity, record?.class, record?.message, record?.exception_type],
    ['default', 'medium', 'security', 'payment declined for order 1234', null],
  );
  assert.deepEqual(record?.fingerprint, ['payment', 'declined']);
  assert.deepEqual(record?.tags, { 'vigil.class': 'security', service: 'checkout', attempt: '2' });
  const row = await rowOf(id);
  assert.deepEqual([row.type, row.severity, row.message, row.fingerprint], ['default', 'medium', 'payment declined for order 1234', ['payment', 'declined']]);
  const found = await t.pool.query(
    `select count(*)::int as n from events where project_id = $1 and severity = 'medium' and search @@ websearch_to_tsquery('simple', 'declined order')`,
    [t.projectId],
  );
  assert.equal(found.rows[0].n, 1);
});

test('the vigil.class tag sets the class; info level is low severity', async () => {
  const id = ids['plain'] as string;
  const [record] = await t.inKafka([id]);
  assert.deepEqual([record?.class, record?.severity], ['error', 'low']);
  const row = await rowOf(id);
  assert.deepEqual([row.class, row.severity], ['error', 'low']);
  const metrics = await t.metricsText();
  assert.match(metrics, /vigil_ingest_outcomes_total\{outcome="accepted",reason="",category="error",service="ingest"\} 3/);
  assert.doesNotMatch(metrics, /vigil_ingest_requests_total\{endpoint="envelope",status="[45]\d\d"/);
});
