import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventRecord } from '@vigil/contracts';
import { createPool, migrate, type Pool } from '@vigil/db';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics, runConsumer, type Codecs } from '@vigil/kafka';
import { silentLogger, testEnv, uniquePrefix, isolatedDatabase } from '@vigil/testkit';
import type { Kafka } from 'kafkajs';
import { DAY_MS } from '../daily-partitions';
import { startStore, type RunningStore } from '../store';
import { createStoreMetrics } from '../store-metrics';
import { createMetrics } from '@vigil/service-runtime';
import { createEventsSink } from './events-sink';
import { DeadLetters } from '../dead-letters';

const env = testEnv();
const prefix = uniquePrefix('store');
const registry = createSchemaRegistry(env.schemaRegistryUrl);
let kafka: Kafka;
let codecs: Codecs;
let producer: BatchingProducer;
let pool: Pool;
let databaseUrl: string;
let store: RunningStore;

const RETENTION_DAYS = 30;

function event(overrides: Partial<EventRecord> = {}): EventRecord {
  const now = Date.now();
  return {
    event_id: randomBytes(16).toString('hex'),
    project_id: 7,
    timestamp_ms: now - 1000,
    received_at_ms: now,
    source: 'native',
    class: 'security',
    severity: 'high',
    type: 'auth.login_failed',
    message: 'bad password for alice from 203.0.113.9',
    exception_type: null,
    exception_value: null,
    platform: null,
    release: '1.2.3',
    environment: 'production',
    tags: { host: 'web-1' },
    user: { id: '42', email: 'alice@example.com', username: 'alice', ip_address: '203.0.113.9' },
    fingerprint: ['login', 'a"b\\c'],
    client_ip: '198.51.100.7',
    sdk_name: null,
    sdk_version: null,
    attributes: { attempts: 3, geo: { country: 'NL' } },
    raw: Buffer.from('{"type":"auth.login_failed"}'),
    ...overrides,
  };
}

async function produce(values: Array<Buffer | null>, key = 'k'): Promise<void> {
  await producer.send(codecs.events.topic, values.map((value) => ({ key, value })));
}

async function produceEvents(records: EventRecord[]): Promise<void> {
  await produce(await Promise.all(records.map((r) => codecs.events.encode(r))));
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const rowsOf = async (ids: string[]) =>
  (await pool.query(`select *, replace(event_id::text, '-', '') as id from events where event_id = any($1::uuid[]) order by timestamp`, [ids])).rows;

before(async () => {
  databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  pool = createPool(databaseUrl);
  kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'store-test', logger: silentLogger() });
  await ensureTopics(kafka, prefix);
  codecs = await createCodecs(registry, prefix);
  producer = new BatchingProducer(kafka);
  await producer.connect();
  store = await startStore(
    {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: databaseUrl,
      VIGIL_TOPIC_PREFIX: prefix,
      VIGIL_STORE_ADMIN_ADDR: { host: '127.0.0.1', port: 0 },
      VIGIL_EVENT_RETENTION_DAYS: RETENTION_DAYS,
      VIGIL_STORE_PARTITIONS_AHEAD: 2,
      VIGIL_STORE_CONCURRENCY: 2,
      VIGIL_STORE_EVENTS_GROUP: `${prefix}store`,
      VIGIL_STORE_MAINTENANCE_INTERVAL: 3_600_000,
      VIGIL_LOG_LEVEL: 'warn',
    },
    silentLogger(),
  );
});

after(async () => {
  await store?.stop();
  await producer?.disconnect();
  await pool?.end();
});

test('events are stored with every field in its column, searchable by the API filters', async () => {
  const a = event();
  const b = event({
    source: 'sentry',
    class: 'error',
    severity: 'medium',
    type: 'error',
    message: 'TypeError: token signature mismatch',
    exception_type: 'TypeError',
    exception_value: 'token signature mismatch',
    platform: 'node',
    user: null,
    fingerprint: [],
    tags: {},
    client_ip: null,
    sdk_name: 'sentry.javascript.node',
    sdk_version: '11.12.0',
    timestamp_ms: Date.now() - DAY_MS,
  });
  await produceEvents([a, b]);
  const rows = await until('two rows', async () => {
    const r = await rowsOf([a.event_id, b.event_id]);
    return r.length === 2 && r;
  });
  const [rb, ra] = rows;
  assert.equal(ra.id, a.event_id);
  assert.equal(ra.project_id, 7);
  assert.equal(ra.timestamp.getTime(), a.timestamp_ms);
  assert.equal(ra.received_at.getTime(), a.received_at_ms);
  assert.deepEqual(
    [ra.source, ra.class, ra.severity, ra.type, ra.message, ra.release, ra.environment],
    ['native', 'security', 'high', 'auth.login_failed', a.message, '1.2.3', 'production'],
  );
  assert.deepEqual(ra.tags, { host: 'web-1' });
  assert.deepEqual([ra.user_id, ra.user_email, ra.user_username, ra.user_ip_address], ['42', 'alice@example.com', 'alice', '203.0.113.9']);
  assert.deepEqual(ra.fingerprint, ['login', 'a"b\\c']);
  assert.equal(ra.client_ip, '198.51.100.7');
  assert.deepEqual(ra.attributes, { attempts: 3, geo: { country: 'NL' } });
  assert.deepEqual(ra.raw, a.raw);
  assert.equal(rb.id, b.event_id);
  assert.deepEqual([rb.exception_type, rb.exception_value, rb.platform, rb.sdk_name, rb.sdk_version], ['TypeError', 'token signature mismatch', 'node', 'sentry.javascript.node', '11.12.0']);
  assert.equal(rb.user_id, null);
  assert.deepEqual(rb.fingerprint, []);

  const search = await pool.query(
    `select replace(event_id::text, '-', '') as id from events
      where project_id = 7 and class = 'security' and severity = 'high' and timestamp > now() - interval '1 hour'
        and search @@ websearch_to_tsquery('simple', 'password 203.0.113.9')`,
  );
  assert.ok(search.rows.some((r) => r.id === a.event_id));
  const plan = (await pool.query(`explain select * from events where project_id = 7 and timestamp > now() - interval '1 hour' order by timestamp desc limit 50`)).rows
    .map((r) => r['QUERY PLAN'])
    .join('\n');
  assert.match(plan, /events_p\d{8}/, 'partition pruning to daily partitions');
});

test('redelivered records and retried ids with another timestamp are stored once', async () => {
  const original = event();
  // The same event id sent again days later (timestamp taken from a later receive time): another partition.
  const retried = { ...original, timestamp_ms: original.timestamp_ms - 2 * DAY_MS, message: 'second copy' };
  const other = event({ project_id: 8, event_id: original.event_id });
  await produceEvents([original, original]);
  await produceEvents([retried, other, original]);
  const marker = event();
  await produceEvents([marker]);
  await until('the marker', async () => (await rowsOf([marker.event_id])).length === 1);
  const rows = await rowsOf([original.event_id]);
  assert.equal(rows.length, 2, 'one row per project');
  assert.deepEqual(rows.map((r) => [r.project_id, r.message]).sort(), [[7, original.message], [8, original.message]]);
  const ids = await pool.query('select project_id from event_ids where event_id = $1::uuid order by 1', [original.event_id]);
  assert.deepEqual(ids.rows.map((r) => r.project_id), [7, 8]);
});

test('poison records go to the dead-letter topic with their reason, and consuming goes on', async () => {
  const group = `${prefix}dlq-reader`;
  const dead: Array<{ reason: string; source_offset: string; value: Buffer | null; error: string }> = [];
  const reader = await runConsumer({
    kafka,
    groupId: group,
    topics: [codecs.deadletter.topic],
    logger: silentLogger(),
    async handleBatch(batch) {
      for (const m of batch.messages) dead.push((await codecs.deadletter.decode(m.value as Buffer)) as never);
    },
  });
  try {
    const good = event();
    const badId = event({ event_id: 'not-an-id' });
    const tooLongType = event({ type: randomBytes(6000).toString('hex') });
    const neighbour = event();
    const unknownSchema = Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), Buffer.from('garbage')]);
    const truncated = (await codecs.events.encode(event())).subarray(0, 20);
    await produce([Buffer.from('{"not":"avro"}'), null, unknownSchema, truncated]);
    await produceEvents([good, badId, tooLongType, neighbour]);
    const after = event();
    await produceEvents([after]);

    await until('stored neighbours', async () => (await rowsOf([good.event_id, neighbour.event_id, after.event_id])).length === 3);
    assert.equal((await rowsOf([tooLongType.event_id])).length, 0);
    const reasons = await until('six dead letters', async () => dead.length >= 6 && dead.map((d) => d.reason).sort());
    assert.deepEqual(reasons, ['invalid_record', 'not_confluent_avro', 'not_confluent_avro', 'rejected_by_database', 'undecodable', 'unknown_schema']);
    const rejected = dead.find((d) => d.reason === 'rejected_by_database');
    assert.match(rejected?.error ?? '', /^54000 index row/);
    assert.equal((await codecs.events.decode(rejected?.value as Buffer)).event_id, tooLongType.event_id);
    assert.ok(dead.every((d) => /^\d+$/.test(d.source_offset)));
    const metrics = await store.metrics.metrics();
    assert.match(metrics, /vigil_store_records_deadlettered_total\{sink="events",reason="rejected_by_database",service="store"\} 1/);
  } finally {
    await reader.stop();
  }
});

test('NUL characters and lone surrogates, which PostgreSQL cannot hold, are replaced instead of losing the event', async () => {
  const e = event({ message: 'a\u0000b\ud800', tags: { 'k\u0000': 'v\u0000' }, attributes: { nested: ['x\u0000', 'cut \udc01'] }, fingerprint: ['\u0000'] });
  await produceEvents([e]);
  const [row] = await until('the row', async () => {
    const r = await rowsOf([e.event_id]);
    return r.length === 1 && r;
  });
  // avsc writes a lone surrogate as three invalid UTF-8 bytes, read back as three U+FFFD.
  assert.match(row.message, /^a\uFFFDb\uFFFD+$/);
  assert.deepEqual(row.tags, { 'k\uFFFD': 'v\uFFFD' });
  assert.deepEqual(row.attributes, { nested: ['x\uFFFD', 'cut \uFFFD'] });
  assert.deepEqual(row.fingerprint, ['\uFFFD']);
  assert.deepEqual(row.raw, e.raw);
});

test('retention: old partitions and their ids are dropped, partitions ahead exist, expired events are skipped', async () => {
  const today = Math.floor(Date.now() / DAY_MS);
  const day = (n: number) => new Date(n * DAY_MS).toISOString().slice(0, 10);
  await pool.query('select vigil_ensure_daily_partitions($1::regclass, $2::date, $3::date)', ['events', day(today - 40), day(today - 38)]);
  await pool.query(`insert into event_ids values (7, gen_random_uuid(), $1::date + interval '1 hour')`, [day(today - 39)]);

  const metrics = createStoreMetrics(createMetrics('store-retention'));
  const sink = createEventsSink({
    pool,
    codec: codecs.events,
    registry,
    deadLetters: new DeadLetters(producer, codecs.deadletter, 'store'),
    metrics,
    logger: silentLogger(),
    retentionDays: RETENTION_DAYS,
    aheadDays: 2,
  });
  await sink.maintain(Date.now());
  const partitions = (await pool.query(`select relname from pg_class where relname ~ '^events_p[0-9]{8}$' order by 1`)).rows.map((r) => r.relname);
  const compact = (n: number) => `events_p${day(n).replaceAll('-', '')}`;
  assert.ok(!partitions.includes(compact(today - 39)));
  assert.equal(partitions[0], compact(today - RETENTION_DAYS));
  assert.equal(partitions.at(-1), compact(today + 2));
  assert.equal(partitions.length, RETENTION_DAYS + 3);
  assert.equal((await pool.query(`select count(*)::int as n from event_ids where timestamp < $1::date`, [day(today - RETENTION_DAYS)])).rows[0].n, 0);
  assert.ok((await metrics.partitionsDropped.get()).values[0]!.value >= 3);

  const expired = event({ timestamp_ms: (today - RETENTION_DAYS - 1) * DAY_MS + 5000 });
  const marker = event();
  await produceEvents([expired, marker]);
  await until('the marker', async () => (await rowsOf([marker.event_id])).length === 1);
  assert.equal((await rowsOf([expired.event_id])).length, 0);
  assert.match(await store.metrics.metrics(), /vigil_store_records_skipped_total\{sink="events",reason="older_than_retention",service="store"\} [1-9]/);
});
