/**
 * The collector as a process, through its real entry point: configuration errors name the variable,
 * and a SIGTERM in the middle of traffic stops reading, sends every flow already decoded to Kafka,
 * and exits 0.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createExporter, createOrganization, createPool, createProject, migrate } from '@vigil/db';
import { parseNetflowBody } from '@vigil/flow-decoder';
import { createKafka, ensureTopics } from '@vigil/kafka';
import { freePort, isolatedDatabase, silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import type { Admin } from 'kafkajs';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const env = testEnv();
let admin: Admin;
let baseEnv: NodeJS.ProcessEnv;
let topic: string;

before(async () => {
  const prefix = uniquePrefix('collproc');
  const databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  const pool = createPool(databaseUrl);
  const org = await createOrganization(pool, 'acme');
  const { project } = await createProject(pool, org.id, 'edge');
  await createExporter(pool, project.id, '127.0.0.0/8');
  await pool.end();
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'collector-process-test', logger: silentLogger() });
  topic = (await ensureTopics(kafka, prefix)).flows;
  admin = kafka.admin();
  await admin.connect();
  baseEnv = {
    ...process.env,
    KAFKA_BROKERS: env.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    DATABASE_URL: databaseUrl,
    VIGIL_TOPIC_PREFIX: prefix,
    VIGIL_COLLECTOR_TCP: 'off',
    VIGIL_LOG_LEVEL: 'warn',
  };
});
after(async () => {
  await admin?.disconnect();
});

function run(extra: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { ...baseEnv, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exit = once(child, 'exit') as Promise<[number | null, string | null]>;
  return { child, exit, stderr: () => stderr, stdout: () => stdout };
}

it('refuses a bad configuration with the variable, the value and what is allowed', async () => {
  const p = run({ VIGIL_COLLECTOR_UDP: '0.0.0.0:2055,nowhere', VIGIL_COLLECTOR_EXPORTER_REFRESH: '1m' });
  const [code] = await p.exit;
  assert.equal(code, 1);
  assert.match(p.stderr(), /VIGIL_COLLECTOR_UDP="0.0.0.0:2055,nowhere": "nowhere" is not host:port/);
  assert.match(p.stderr(), /VIGIL_COLLECTOR_EXPORTER_REFRESH="1m": expected 100ms to 5s/);
});

it('flushes every decoded flow to Kafka on SIGTERM in the middle of traffic, then exits 0', async () => {
  const udp = await freePort();
  const adminPort = await freePort();
  const p = run({ VIGIL_COLLECTOR_UDP: `127.0.0.1:${udp}`, VIGIL_COLLECTOR_ADMIN_ADDR: `127.0.0.1:${adminPort}`, VIGIL_LOG_LEVEL: 'info' });
  const base = `http://127.0.0.1:${adminPort}`;
  for (let i = 0; !(await fetch(`${base}/readyz`).then((r) => r.ok, () => false)); i++) {
    assert.ok(i < 300, `not ready: ${p.stderr()}`);
    await sleep(100);
  }
  const datagrams = parseNetflowBody(readFileSync(new URL('../../../packages/flow-decoder/fixtures/softflowd-ipfix.netflow', import.meta.url))).datagrams;
  const before = (await admin.fetchTopicOffsets(topic)).reduce((n, x) => n + Number(x.high), 0);
  const sock = createSocket('udp4');
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  // Keep sending while the stop begins; whatever the collector decoded must reach Kafka.
  let sending = true;
  const sender = (async () => {
    for (let i = 0; sending; i++) {
      sock.send(datagrams[i % datagrams.length]!, udp, '127.0.0.1');
      if (i % 50 === 0) await sleep(1);
    }
  })();
  await sleep(1500);
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /vigil_collector_flows_decoded_total\{transport="udp",service="collector"\} \d+/);
  p.child.kill('SIGTERM');
  const [code] = await p.exit;
  sending = false;
  await sender;
  sock.close();
  assert.equal(code, 0, p.stderr());
  const drained = p
    .stdout()
    .split('\n')
    .filter((l) => l.includes('collector drained'))
    .map((l) => JSON.parse(l) as { flows_decoded: number; flows_published: number; flows_dropped: number })[0];
  assert.ok(drained, 'the collector reported what it drained');
  assert.ok(drained.flows_decoded > 1000, `${drained.flows_decoded} flows decoded before the stop`);
  assert.equal(drained.flows_dropped, 0);
  assert.equal(drained.flows_published, drained.flows_decoded, 'every decoded flow was published before the exit');
  const after = (await admin.fetchTopicOffsets(topic)).reduce((n, x) => n + Number(x.high), 0);
  assert.equal(after - before, drained.flows_published, 'and Kafka holds exactly them');
  assert.match(p.stdout(), /"msg":"collector stopped"/);
});
