/**
 * The store process is killed (SIGKILL: no graceful anything) in the middle of a stream and a new
 * one takes over: every produced event ends up in PostgreSQL exactly once — no gap (offsets were
 * committed only after rows) and no duplicate (redelivered batches are skipped by event id).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventRecord } from '@vigil/contracts';
import { createPool, migrate, type Pool } from '@vigil/db';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics, type Codecs } from '@vigil/kafka';
import { freePort, isolatedDatabase, silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';

const env = testEnv();
const prefix = uniquePrefix('restart');
const main = fileURLToPath(new URL('./main.ts', import.meta.url));
let databaseUrl: string;
let pool: Pool;
let codecs: Codecs;
let producer: BatchingProducer;
const children: ChildProcess[] = [];

before(async () => {
  databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  pool = createPool(databaseUrl);
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'restart-test', logger: silentLogger() });
  await ensureTopics(kafka, prefix);
  codecs = await createCodecs(createSchemaRegistry(env.schemaRegistryUrl), prefix);
  producer = new BatchingProducer(kafka);
  await producer.connect();
});

after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await producer?.disconnect();
  await pool?.end();
});

async function startStoreProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: env.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      VIGIL_TOPIC_PREFIX: prefix,
      VIGIL_STORE_ADMIN_ADDR: `127.0.0.1:${await freePort()}`,
      VIGIL_STORE_EVENTS_GROUP: `${prefix}store`,
      VIGIL_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

async function produce(n: number): Promise<string[]> {
  const ids: string[] = [];
  const now = Date.now();
  for (let done = 0; done < n; done += 1000) {
    const batch: EventRecord[] = Array.from({ length: Math.min(1000, n - done) }, (_, i) => ({
      event_id: randomBytes(16).toString('hex'),
      project_id: 1 + (i % 3),
      timestamp_ms: now - (i % 5000) * 1000,
      received_at_ms: now,
      source: 'native',
      class: 'network',
      severity: 'info',
      type: 'conn.opened',
      message: `connection ${done + i} from 10.0.${i % 250}.${(i * 7) % 250}`,
      exception_type: null,
      exception_value: null,
      platform: null,
      release: null,
      environment: 'production',
      tags: { sensor: `s${i % 10}` },
      user: null,
      fingerprint: [],
      client_ip: '192.0.2.10',
      sdk_name: null,
      sdk_version: null,
      attributes: { bytes: i * 10, port: 443 },
      raw: Buffer.from(`{"n":${done + i}}`),
    }));
    for (const e of batch) ids.push(e.event_id);
    await producer.send(codecs.events.topic, await Promise.all(batch.map(async (e) => ({ key: e.event_id, value: await codecs.events.encode(e) }))));
  }
  return ids;
}

const count = async () => (await pool.query<{ n: number }>('select count(*)::int as n from events')).rows[0]!.n;

test('a store killed mid-stream and restarted leaves no gap and no duplicate', async () => {
  const first = await produce(30_000);
  const a = await startStoreProcess();
  let atKill = 0;
  for (const deadline = Date.now() + 120_000; atKill === 0; ) {
    assert.ok(Date.now() < deadline, 'the first store wrote nothing');
    await sleep(25);
    atKill = await count();
  }
  a.kill('SIGKILL');
  await new Promise((resolve) => a.once('exit', resolve));
  atKill = await count();
  assert.ok(atKill < first.length, `the kill came mid-stream (${atKill} of ${first.length} rows written)`);

  const second = await produce(10_000);
  const expected = first.length + second.length;
  const b = await startStoreProcess();
  for (const deadline = Date.now() + 180_000; (await count()) < expected; ) {
    assert.ok(Date.now() < deadline, `only ${await count()} of ${expected} rows after restart`);
    await sleep(200);
  }
  await sleep(2000); // anything redelivered late would show up as an extra row
  const { rows } = await pool.query<{ total: number; distinct_ids: number }>(
    'select count(*)::int as total, count(distinct event_id)::int as distinct_ids from events',
  );
  assert.deepEqual(rows[0], { total: expected, distinct_ids: expected });
  const missing = await pool.query<{ n: number }>(
    'select count(*)::int as n from unnest($1::uuid[]) as p(id) where not exists (select 1 from events e where e.event_id = p.id)',
    [[...first, ...second]],
  );
  assert.equal(missing.rows[0]!.n, 0);
  const ids = await pool.query<{ n: number }>('select count(*)::int as n from event_ids');
  assert.equal(ids.rows[0]!.n, expected);
  process.stderr.write(`# killed after ${atKill} of ${first.length} rows; ${expected} rows stored exactly once after the restart\n`);
  b.kill('SIGTERM');
  assert.equal(await new Promise((resolve) => b.once('exit', resolve)), 0, 'graceful stop exits 0');
});
