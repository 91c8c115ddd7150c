/**
 * End-to-end ingest throughput, each figure against baselines measured in the same run:
 *
 * - ingest (its own process, real Kafka with acks=all, Redis quotas, PostgreSQL keys) under HTTP load
 *   of realistic ~1.8 KiB envelopes with a fresh event id each, keep-alive, 64 connections: events
 *   accepted per second (each answered 200 only after Kafka acknowledged it), p50/p99;
 * - a bare node:http server that reads the body and answers 200, same load: the ceiling of one
 *   Node process on this machine;
 * - Kafka's ProducerPerformance (Java, acks=all, idempotent) with records the size of ingest's Avro
 *   values: what the broker takes from its reference client;
 * - then the store consumes everything ingest wrote: rows/s into PostgreSQL, against a bare insert
 *   and the store's insert statement alone (store-throughput.ts).
 *
 * It checks that every 200 is in Kafka (end offsets), and with --profile runs ingest with
 * --cpu-prof and prints where its time goes.
 *
 * Uses the endpoints in KAFKA_BROKERS / SCHEMA_REGISTRY_URL / DATABASE_URL / REDIS_URL when set
 * (e.g. `source /tmp/vigil-dev/env.sh`), else starts a throwaway stack.
 *
 * Run: node --import tsx bench/ingest/durable-throughput.ts [--seconds 15] [--connections 64]
 *        [--tool wrk|autocannon] [--profile] [--no-store]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createOrganization, createPool, createProject, migrate } from '@vigil/db';
import { createCodecs, createKafka, createSchemaRegistry, ensureTopics } from '@vigil/kafka';
import { createLogger } from '@vigil/logging';
import { normalizeSentryEvent, parseEnvelope } from '@vigil/sentry-protocol';
import { startStack, type StackEndpoints } from '@vigil/stack';
import { freePort } from '@vigil/testkit';
import pg from 'pg';
import { printProfile, summarizeProfile } from './cpu-profile';
import { producerPerformance } from './kafka-producer-perf';
import { runLoad, wrkAvailable, type LoadResult, type LoadTool } from './load-generator';
import { ID_PLACEHOLDER, realisticEnvelope } from './realistic-envelope';
import { storeBaselines, storeService } from './store-throughput';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    connections: { type: 'string', default: '64' },
    tool: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-store': { type: 'boolean', default: false },
  },
});
const seconds = Number(args.seconds);
const connections = Number(args.connections);
const tool: LoadTool = (args.tool as LoadTool | undefined) ?? ((await wrkAvailable()) ? 'wrk' : 'autocannon');
const root = fileURLToPath(new URL('../..', import.meta.url));
const logger = createLogger({ service: 'bench', level: 'warn' });

async function dependencies(): Promise<{ endpoints: StackEndpoints; stop: () => Promise<void> }> {
  const e = process.env;
  if (e.KAFKA_BROKERS && e.SCHEMA_REGISTRY_URL && e.DATABASE_URL && e.REDIS_URL) {
    return {
      endpoints: { kafkaBrokers: e.KAFKA_BROKERS.split(','), schemaRegistryUrl: e.SCHEMA_REGISTRY_URL, databaseUrl: e.DATABASE_URL, redisUrl: e.REDIS_URL },
      stop: async () => undefined,
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  chmodSync(dataDir, 0o755);
  const stack = await startStack({
    dataDir,
    cacheDir: e.VIGIL_CACHE_DIR ?? join(homedir(), '.cache', 'vigil'),
    ports: { kafka: await freePort(), kafkaController: await freePort(), registry: await freePort(), postgres: await freePort(), redis: await freePort() },
    external: {},
    registryStorage: 'mem',
    database: 'postgres',
    onProgress: (m) => console.error(`[stack] ${m}`),
  });
  return {
    endpoints: stack.endpoints,
    stop: async () => {
      await stack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function waitReady(url: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; ; ) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready`);
    await sleep(100);
  }
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'], cwd: root });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** CPU seconds (user + system) used so far by a process, or by one of its threads (Linux); 0 elsewhere. */
function cpuSeconds(pid: number | undefined, tid?: number): number {
  try {
    const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
    const fields = readFileSync(path, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

type Measured = LoadResult & { cpuMicrosPerRequest: number; mainCpuMicrosPerRequest: number };

/**
 * Runs the load and reports the server's CPU per request alongside: the whole process, and its main
 * thread (the thread whose id is the process id), which answers every request.
 */
async function measured(pid: number | undefined, run: () => Promise<LoadResult>): Promise<Measured> {
  const cpu0 = cpuSeconds(pid);
  const main0 = cpuSeconds(pid, pid);
  const result = await run();
  const per = (seconds: number) => (seconds * 1e6) / Math.max(1, result.requests);
  return { ...result, cpuMicrosPerRequest: per(cpuSeconds(pid) - cpu0), mainCpuMicrosPerRequest: per(cpuSeconds(pid, pid) - main0) };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const line = (label: string, r: Measured) =>
  console.log(
    `${label.padEnd(38)} ${fmt(r.requestsPerSecond).padStart(9)} req/s   p50 ${r.p50Ms.toFixed(2).padStart(6)} ms   p99 ${r.p99Ms.toFixed(2).padStart(7)} ms   ` +
      `${fmt(r.cpuMicrosPerRequest).padStart(4)} µs CPU/req (main thread ${fmt(r.mainCpuMicrosPerRequest)})   non-2xx ${r.non2xx}   errors ${r.errors}`,
  );

const deps = await dependencies();
const { endpoints } = deps;
const prefix = `bench${randomBytes(4).toString('hex')}.`;
const dbName = `vigil_bench_${randomBytes(4).toString('hex')}`;
const admin = new pg.Client({ connectionString: endpoints.databaseUrl });
await admin.connect();
await admin.query(`create database ${dbName}`);
await admin.end();
const dbUrl = new URL(endpoints.databaseUrl);
dbUrl.pathname = `/${dbName}`;
const databaseUrl = dbUrl.toString();
await migrate({ databaseUrl });
const pool = createPool(databaseUrl);
const org = await createOrganization(pool, 'bench');
const { project, key } = await createProject(pool, org.id, 'bench');
// The quota check runs on every request; the limit is set high enough never to refuse.
await pool.query('update project_keys set rate_limit_per_minute = 1000000000 where id = $1', [key.id]);
const kafka = createKafka({ brokers: endpoints.kafkaBrokers, clientId: 'bench', logger });
await ensureTopics(kafka, prefix);
const codecs = await createCodecs(createSchemaRegistry(endpoints.schemaRegistryUrl), prefix);

const envelope = realisticEnvelope(key.public_key);
const parsed = parseEnvelope(Buffer.from(envelope.replaceAll(ID_PLACEHOLDER, randomBytes(16).toString('hex'))));
const sample = normalizeSentryEvent((parsed.items[0] as { payload: Buffer }).payload, { projectId: project.id, receivedAtMs: Date.now(), clientIp: '127.0.0.1', envelope: parsed.header });
const avroBytes = (await codecs.events.encode(sample)).length;
console.log(`# ${tool}, ${connections} connections, ${seconds} s per run after a 3 s warm-up; envelope ${Buffer.byteLength(envelope)} B, Avro value ${avroBytes} B; ${(await import('node:os')).cpus().length} CPUs`);

const load = (url: string, durationSeconds: number, headers: Record<string, string> = {}) =>
  runLoad({ url, body: envelope, headers, connections, durationSeconds, tool, threads: 2 });

// 1. Bare node:http.
const barePort = await freePort();
const bare = spawnNode(['--import', 'tsx', join(root, 'bench/ingest/bare-server.ts'), String(barePort)], process.env);
await waitReady(`http://127.0.0.1:${barePort}/`);
await load(`http://127.0.0.1:${barePort}/api/1/envelope/`, 3);
const bareResult = await measured(bare.pid, () => load(`http://127.0.0.1:${barePort}/api/1/envelope/`, seconds));
await stopChild(bare);

// 2. Ingest.
const ingestPort = await freePort();
const profileDir = join(root, 'bench/out');
mkdirSync(profileDir, { recursive: true });
const before = await topicEnd(codecs.events.topic);
const ingest = spawnNode(
  [...(args.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), '--import', 'tsx', join(root, 'services/ingest/src/main.ts')],
  {
    ...process.env,
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    DATABASE_URL: databaseUrl,
    REDIS_URL: endpoints.redisUrl,
    VIGIL_TOPIC_PREFIX: prefix,
    VIGIL_INGEST_ADDR: `127.0.0.1:${ingestPort}`,
    VIGIL_LOG_LEVEL: 'warn',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
  },
);
await waitReady(`http://127.0.0.1:${ingestPort}/readyz`);
const ingestUrl = `http://127.0.0.1:${ingestPort}/api/${project.id}/envelope/?sentry_key=${key.public_key}&sentry_version=7`;
const warm = await load(ingestUrl, 3);
const ingestResult = await measured(ingest.pid, () => load(ingestUrl, seconds));
const profileStart = Date.now();
await stopChild(ingest);
const written = (await topicEnd(codecs.events.topic)) - before;
const answered200 = warm.requests - warm.non2xx - warm.errors + ingestResult.requests - ingestResult.non2xx - ingestResult.errors;

// 3. Kafka's own producer, same record size and count.
const perfTopic = `${prefix}producer-perf`;
const perfAdmin = kafka.admin();
await perfAdmin.connect();
await perfAdmin.createTopics({ topics: [{ topic: perfTopic, numPartitions: 6 }], waitForLeaders: true });
const perf = await producerPerformance({ brokers: endpoints.kafkaBrokers, topic: perfTopic, records: Math.max(100_000, ingestResult.requests), recordSize: avroBytes });
await perfAdmin.deleteTopics({ topics: [perfTopic] });
await perfAdmin.disconnect();

console.log('');
line('bare node:http (read body, 200)', bareResult);
line('ingest (200 after Kafka acks=all)', ingestResult);
console.log(
  `${'Kafka ProducerPerformance (Java)'.padEnd(38)} ${fmt(perf.recordsPerSecond).padStart(9)} rec/s   p50 ${perf.p50Ms.toFixed(2).padStart(6)} ms   p99 ${perf.p99Ms.toFixed(2).padStart(7)} ms   (${perf.records} records of ${avroBytes} B, acks=all, idempotent)`,
);
console.log('');
console.log(`ingest / bare node:http         ${(ingestResult.requestsPerSecond / bareResult.requestsPerSecond).toFixed(2)}   (goal ≥ 0.50)`);
console.log(`ingest / Kafka ProducerPerf     ${(ingestResult.requestsPerSecond / perf.recordsPerSecond).toFixed(2)}`);
console.log(`durability check: ${fmt(answered200)} answered 200, ${fmt(written)} records in ${codecs.events.topic}: ${written >= answered200 ? 'every 200 is in Kafka' : 'MISSING RECORDS'}`);

if (args.profile) {
  // --cpu-prof writes one profile per thread (the tsx loader has its own); the main thread's is the largest.
  const file = readdirSync(profileDir)
    .filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${ingest.pid}.`))
    .map((f) => join(profileDir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)[0];
  if (file !== undefined) {
    console.log(`\nwhere ingest's time goes (${file}, written ${((Date.now() - profileStart) / 1000).toFixed(1)} s after the stop):`);
    printProfile(summarizeProfile(file, 20));
  }
}

// 4. Store: rows/s into PostgreSQL.
if (!args['no-store']) {
  const storeRun = await storeService({
    pool,
    expected: written,
    env: {
      ...process.env,
      KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
      DATABASE_URL: databaseUrl,
      VIGIL_TOPIC_PREFIX: prefix,
      VIGIL_STORE_ADMIN_ADDR: `127.0.0.1:${await freePort()}`,
      VIGIL_LOG_LEVEL: 'warn',
    },
  });
  const baselines = await storeBaselines(pool, 20_000);
  console.log('');
  console.log(`${'PostgreSQL bare insert (plain table)'.padEnd(38)} ${fmt(baselines.bare).padStart(9)} rows/s   (json_to_recordset, 1000 per statement, 1 connection)`);
  console.log(`${"store's insert statement alone".padEnd(38)} ${fmt(baselines.statement).padStart(9)} rows/s   (partitioned, 5 indexes, full-text, id registry; no Kafka)`);
  console.log(`${'store service (Kafka → PostgreSQL)'.padEnd(38)} ${fmt(storeRun.rowsPerSecond).padStart(9)} rows/s   (${fmt(storeRun.rows)} rows; ${storeRun.totalSeconds.toFixed(1)} s from process start)`);
  console.log(`store / bare insert             ${(storeRun.rowsPerSecond / baselines.bare).toFixed(2)}`);
  console.log(`store / its statement alone     ${(storeRun.rowsPerSecond / baselines.statement).toFixed(2)}`);
}

await pool.end();
const drop = new pg.Client({ connectionString: endpoints.databaseUrl });
await drop.connect();
await drop.query(`drop database ${dbName} with (force)`);
await drop.end();
const cleanup = kafka.admin();
await cleanup.connect();
await cleanup.deleteTopics({ topics: Object.values(codecs).map((c) => c.topic) }).catch(() => undefined);
await cleanup.disconnect();
await deps.stop();

async function topicEnd(topic: string): Promise<number> {
  const a = kafka.admin();
  await a.connect();
  try {
    return (await a.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await a.disconnect();
  }
}
