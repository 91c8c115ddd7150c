/**
 * Collector end to end into Kafka: a captured softflowd IPFIX export (4 datagrams, 109 records, the
 * first carrying the templates) is replayed over UDP by a small blaster at increasing rates, each for a
 * fixed time, into
 *
 *   - Vigil's collector (its real entry point, as a child process: exporter registered in PostgreSQL,
 *     Avro through the schema registry, idempotent acks=all producer into `vigil.flows.v1`), and
 *   - GoFlow2 v2.2.6 (`go install github.com/netsampler/goflow2/v2/cmd/goflow2@v2.2.6`), Kafka
 *     transport, protobuf (`-format bin`), its defaults otherwise,
 *
 * interleaved rate by rate so both see the same background load. After each step the bench waits until
 * the topic stops growing and counts the records that reached Kafka (sum of the partitions' high
 * watermarks). A rate is lossless when every record sent arrived. Prints each step, each system's
 * highest lossless rate, and the ratio Vigil / GoFlow2.
 *
 *   source /tmp/vigil-dev/env.sh   # or any KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL
 *   node --import tsx bench/collector/e2e.ts [seconds-per-step=10] [rates=records/s,…]
 *
 * GOFLOW2 names the binary (default ~/go/bin/goflow2). Both collectors get the same socket type and
 * address family; Vigil asks for a 32 MiB receive buffer (the kernel grants what net.core.rmem_max
 * allows), GoFlow2 has no such setting and keeps the kernel default.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createExporter, createOrganization, createPool, createProject, migrate } from '@vigil/db';
import { createFlowDecoder, parseNetflowBody } from '@vigil/flow-decoder';
import { createKafka, ensureTopics } from '@vigil/kafka';
import { freePort, isolatedDatabase, silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECONDS = Number(process.argv[2] ?? 10);
const RATES = (process.argv[3] ?? '5000,10000,20000,30000,40000,50000,60000,80000,100000,130000,160000').split(',').map(Number);
const GOFLOW2 = process.env.GOFLOW2 ?? `${homedir()}/go/bin/goflow2`;

if (!process.env.KAFKA_BROKERS || !process.env.SCHEMA_REGISTRY_URL || !process.env.DATABASE_URL) {
  console.error('set KAFKA_BROKERS, SCHEMA_REGISTRY_URL and DATABASE_URL (e.g. source /tmp/vigil-dev/env.sh)');
  process.exit(2);
}
if (!existsSync(GOFLOW2)) {
  console.error(`GoFlow2 not found at ${GOFLOW2}: go install github.com/netsampler/goflow2/v2/cmd/goflow2@v2.2.6 (or set GOFLOW2)`);
  process.exit(2);
}
process.env.REDIS_URL ??= 'redis://unused';

const export_ = parseNetflowBody(readFileSync(new URL('../../packages/flow-decoder/fixtures/softflowd-ipfix.netflow', import.meta.url))).datagrams;
/** Flow records in each datagram of the replay. */
const recordsIn = (() => {
  const decoder = createFlowDecoder();
  return export_.map((d) => decoder.decode(d, 'count', Date.now()).flows.length);
})();
const RECORDS_PER_CYCLE = recordsIn.reduce((a, b) => a + b, 0);

const env = testEnv();
const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'bench-e2e', logger: silentLogger() });
const admin = kafka.admin();
await admin.connect();

async function topicSize(topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
}

interface System {
  name: string;
  port: number;
  /** The blaster's socket for this system: one exporter (address and port) for the whole run, as a router is. */
  sock: ReturnType<typeof createSocket>;
  topic: string;
  child: ChildProcess;
  /** Seconds a flush may take before the topic stops growing. */
  settleMs: number;
  /** Where records went missing, from the system's own metrics (Vigil only). */
  whereLost?: () => Promise<string>;
}

async function startVigil(): Promise<System> {
  const prefix = uniquePrefix('benche2e');
  const databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  const pool = createPool(databaseUrl);
  const org = await createOrganization(pool, 'bench');
  const { project } = await createProject(pool, org.id, 'edge');
  await createExporter(pool, project.id, '127.0.0.0/8');
  await pool.end();
  const topic = (await ensureTopics(kafka, prefix)).flows;
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', `${ROOT}services/collector/src/main.ts`], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      VIGIL_TOPIC_PREFIX: prefix,
      VIGIL_COLLECTOR_UDP: `127.0.0.1:${port}`,
      VIGIL_COLLECTOR_TCP: 'off',
      VIGIL_COLLECTOR_ADMIN_ADDR: `127.0.0.1:${adminPort}`,
      VIGIL_LOG_LEVEL: 'error',
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${adminPort}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 300) throw new Error('the collector did not become ready');
    await sleep(100);
  }
  const metric = async (name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const reason = /reason="([^"]+)"/.exec(line)?.[1] ?? 'total';
      out[reason] = (out[reason] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return out;
  };
  let last = { received: 0, dropped: {} as Record<string, number> };
  const whereLost = async () => {
    const received = (await metric('vigil_collector_datagrams_received_total')).total ?? 0;
    const dropped = await metric('vigil_collector_flows_dropped_total');
    const parts = [`datagrams read ${fmt(received - last.received)}`];
    for (const [reason, n] of Object.entries(dropped)) if (n - (last.dropped[reason] ?? 0) > 0) parts.push(`${reason} ${fmt(n - (last.dropped[reason] ?? 0))}`);
    last = { received, dropped };
    return parts.join(', ');
  };
  return { name: 'Vigil', port, topic, child, settleMs: 2_000, sock: await blasterSocket(), whereLost };
}

async function startGoflow2(): Promise<System> {
  const topic = `${uniquePrefix('benchgoflow2')}flows`;
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 6, replicationFactor: 1 }] });
  const port = await freePort();
  const metricsPort = await freePort();
  const child = spawn(
    GOFLOW2,
    ['-listen', `netflow://127.0.0.1:${port}`, '-transport', 'kafka', '-transport.kafka.brokers', env.kafkaBrokers.join(','), '-transport.kafka.topic', topic, '-format', 'bin', '-addr', `127.0.0.1:${metricsPort}`, '-loglevel', 'warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 300) throw new Error('GoFlow2 did not start');
    await sleep(100);
  }
  // Its Kafka transport flushes every 5 s (transport.kafka.flushfreq).
  return { name: 'GoFlow2', port, topic, child, settleMs: 7_000, sock: await blasterSocket() };
}

async function blasterSocket() {
  const sock = createSocket('udp4');
  sock.bind(0, '127.0.0.1');
  await new Promise((r) => sock.once('listening', r));
  return sock;
}

let datagrams = 0;

/** Sends the export cyclically at `rate` records/s for SECONDS from `sock`; returns the records sent. */
async function blast(sock: System['sock'], port: number, rate: number): Promise<number> {
  const perMs = rate / RECORDS_PER_CYCLE * export_.length / 1000;
  let sent = 0;
  let records = 0;
  let inFlight = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - started;
      if (elapsed >= SECONDS * 1000) return resolve();
      const due = Math.floor(elapsed * perMs);
      while (sent < due && inFlight < 2_000) {
        const i = sent % export_.length;
        inFlight++;
        sock.send(export_[i]!, port, '127.0.0.1', () => inFlight--);
        records += recordsIn[i]!;
        sent++;
      }
      setImmediate(tick);
    };
    tick();
  });
  while (inFlight > 0) await sleep(5);
  datagrams = sent;
  return records;
}

/** Waits until the topic stops growing; returns how many records arrived since `before`. */
async function settle(s: System, before: number): Promise<number> {
  let last = await topicSize(s.topic);
  let stableSince = performance.now();
  for (;;) {
    await sleep(250);
    const now = await topicSize(s.topic);
    if (now !== last) {
      last = now;
      stableSince = performance.now();
    } else if (performance.now() - stableSince > s.settleMs) return last - before;
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const systems = [await startVigil(), await startGoflow2()];
// The first datagram of the export carries the templates; prime both so every cycle decodes.
for (const s of systems) {
  const before = await topicSize(s.topic);
  await new Promise<void>((resolve) => s.sock.send(export_[0]!, s.port, '127.0.0.1', () => resolve()));
  if ((await settle(s, before)) !== recordsIn[0]) throw new Error(`${s.name} did not publish the priming datagram's ${recordsIn[0]} records`);
  await s.whereLost?.();
}

const best = new Map<string, number>();
const most = new Map<string, number>();
/** Consecutive steps with more than 20 % lost: a system is saturated after two and skips higher rates. */
const saturated = new Map<string, number>();
console.log(`replay: softflowd IPFIX export, ${export_.length} datagrams / ${RECORDS_PER_CYCLE} records per cycle, ${SECONDS} s per step`);
console.log('rate (records/s)  system    sent        in Kafka    lost      accepted records/s');
for (const rate of RATES) {
  for (const s of systems) {
    if ((saturated.get(s.name) ?? 0) >= 2) continue;
    const before = await topicSize(s.topic);
    const sent = await blast(s.sock, s.port, rate);
    const arrived = await settle(s, before);
    const lost = sent - arrived;
    const lossless = lost === 0;
    console.log(
      `${fmt(rate).padStart(16)}  ${s.name.padEnd(8)}  ${fmt(sent).padStart(10)}  ${fmt(arrived).padStart(10)}  ${fmt(lost).padStart(8)}  ${fmt(arrived / SECONDS).padStart(10)}${lossless ? '' : '  (loss)'}${s.whereLost ? `  [${await s.whereLost()} of ${fmt(datagrams)} sent]` : ''}`,
    );
    if (lossless) best.set(s.name, Math.max(best.get(s.name) ?? 0, sent / SECONDS));
    most.set(s.name, Math.max(most.get(s.name) ?? 0, arrived / SECONDS));
    saturated.set(s.name, lost > 0.2 * sent ? (saturated.get(s.name) ?? 0) + 1 : 0);
  }
  if (systems.every((s) => (saturated.get(s.name) ?? 0) >= 2)) break;
}

const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : `n/a (GoFlow2 ${b === 0 ? 'lost records at every rate tried' : '0'})`);
const vigil = best.get('Vigil') ?? 0;
const goflow2 = best.get('GoFlow2') ?? 0;
console.log(`\nhighest lossless rate: Vigil ${fmt(vigil)} records/s, GoFlow2 ${fmt(goflow2)} records/s; ratio Vigil / GoFlow2: ${ratio(vigil, goflow2)}`);
const vigilMost = most.get('Vigil') ?? 0;
const goflow2Most = most.get('GoFlow2') ?? 0;
console.log(`highest accepted rate (loss allowed): Vigil ${fmt(vigilMost)} records/s, GoFlow2 ${fmt(goflow2Most)} records/s; ratio ${ratio(vigilMost, goflow2Most)}`);

for (const s of systems) {
  s.sock.close();
  s.child.kill('SIGTERM');
}
await Promise.all(systems.map((s) => new Promise((r) => (s.child.exitCode !== null ? r(null) : s.child.once('exit', r)))));
await admin.disconnect();
