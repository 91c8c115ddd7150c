/**
 * Webhook delivery end to end, against a baseline measured in the same run on the same Redis:
 *
 * 1. baseline: BullMQ alone — jobs added with addBulk (as delivery's fan-out adds them) and taken
 *    by a no-op worker with delivery's concurrency, in its own process;
 * 2. deliveries/s with 1, 10 and 100 endpoints: alerts published to Kafka as fast as possible,
 *    consumed, fanned out, queued, signed, POSTed to a receiver on 127.0.0.1 and recorded — the
 *    delivery service running as its own process (src/main.ts) — and the ratio to the baseline;
 * 3. latency at a steady 200 alerts/s to one endpoint: p50/p99 from the alert written to the
 *    topic to its receipt;
 * 4. head-of-line isolation at 200 alerts/s: a healthy endpoint alone, and beside an endpoint
 *    that holds every request for 30 s (two delivery processes fed the same alerts at the same
 *    moments), p50/p99 and the ratio.
 *
 * Needs the stack: `source /tmp/vigil-dev/env.sh` (or KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
 * DATABASE_URL, REDIS_URL).
 * Run: node --import tsx bench/delivery/end-to-end.ts [deliveries=6000] [steadySeconds=15]
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { testEnv } from '@vigil/testkit';
import { spawnDelivery, type DeliveryProcess } from '../../services/delivery/src/testing/delivery-process';
import { createHarness, sampleAlert, type Harness } from '../../services/delivery/src/testing/harness';
import { startReceiver, type Receiver } from '../../services/delivery/src/testing/receiver';
import { cpuSeconds, quantile } from './measure';

const DELIVERIES = Number(process.argv[2] ?? 6000);
const STEADY_SECONDS = Number(process.argv[3] ?? 15);
const CONCURRENCY = 100;
const PRODUCTION = { VIGIL_WEBHOOK_RETRY_SCHEDULE: '5s,5m,30m,2h,5h,10h,10h', VIGIL_WEBHOOK_RETRY_JITTER: '0.2', VIGIL_LOG_LEVEL: 'warn' };

try {
  testEnv();
} catch {
  console.error('set KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL and REDIS_URL (source /tmp/vigil-dev/env.sh)');
  process.exit(2);
}

const latencies = (receiver: Receiver, from: number) =>
  receiver.requests.slice(from).map((r) => r.receivedAt - Date.parse((JSON.parse(r.body) as { timestamp: string }).timestamp));

/** BullMQ alone: addBulk in chunks of 500, a no-op worker in its own process. */
async function bareBullmq(jobs: number): Promise<{ perSecond: number; cpuMsPerJob: number }> {
  const env = testEnv();
  const prefix = `vigil-bench-${randomBytes(4).toString('hex')}`;
  const worker = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./bare-bullmq-worker.ts', import.meta.url)), env.redisUrl, prefix, 'webhook-deliveries', String(CONCURRENCY), String(jobs)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: worker.stdout! })[Symbol.asyncIterator]();
  await lines.next(); // ready
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('webhook-deliveries', { connection: redis, prefix });
  const t0 = Date.now();
  for (let i = 0; i < jobs; i += 500) {
    await queue.addBulk(
      Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({
        name: 'deliver',
        data: { m: `msg_${randomBytes(20).toString('hex').slice(0, 32)}`, w: '00000000-0000-4000-8000-000000000000' },
        opts: { jobId: `msg_${i + k}_${prefix}`, attempts: 12, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true },
      })),
    );
  }
  const { lastCompletedAt, cpuMs } = JSON.parse(String((await lines.next()).value)) as { lastCompletedAt: number; cpuMs: number };
  const cpuMsPerJob = cpuMs / jobs;
  await queue.obliterate({ force: true });
  await queue.close();
  redis.disconnect();
  return { perSecond: jobs / ((lastCompletedAt - t0) / 1000), cpuMsPerJob };
}

async function withDelivery<T>(harness: Harness, run: (p: DeliveryProcess) => Promise<T>): Promise<T> {
  const p = spawnDelivery(harness.env(PRODUCTION));
  try {
    return await run(p);
  } finally {
    p.child.kill('SIGTERM');
    await p.exited;
  }
}

/** Alerts published as fast as Kafka takes them, each to `endpoints` endpoints. */
async function throughput(endpoints: number, receiver: Receiver): Promise<{ perSecond: number; cpuMsPerDelivery: number }> {
  const h = await createHarness();
  try {
    for (let i = 0; i < endpoints; i += 1) await h.endpoint(`${receiver.url}?ep=${i}`);
    return await withDelivery(h, async (p) => {
      const start = receiver.requests.length;
      await h.publish([sampleAlert(h.projectId)]);
      await receiver.waitFor(() => receiver.requests.length >= start + endpoints, 180_000, 'warm-up');
      const alerts = Math.max(1, Math.round(DELIVERIES / endpoints));
      const expected = receiver.requests.length + alerts * endpoints;
      const cpu0 = cpuSeconds(p.child.pid!);
      const t0 = Date.now();
      await h.publish(Array.from({ length: alerts }, () => sampleAlert(h.projectId)));
      await receiver.waitFor(() => receiver.requests.length >= expected, 600_000, `${alerts * endpoints} deliveries`);
      const seconds = (Date.now() - t0) / 1000;
      return { perSecond: (alerts * endpoints) / seconds, cpuMsPerDelivery: ((cpuSeconds(p.child.pid!) - cpu0) * 1000) / (alerts * endpoints) };
    });
  } finally {
    await h.close();
  }
}

/** Alerts published one by one at `rate` per second to every harness; returns when all arrived. */
async function steady(harnesses: Harness[], receivers: Receiver[], rate: number, seconds: number): Promise<void> {
  const starts = receivers.map((r) => r.requests.length);
  const total = Math.round(rate * seconds);
  const t0 = Date.now();
  for (let i = 0; i < total; i += 1) {
    const due = t0 + (i * 1000) / rate;
    if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
    const now = Date.now();
    void Promise.all(harnesses.map((h) => h.publish([sampleAlert(h.projectId, { created_at_ms: now, updated_at_ms: now })])));
  }
  await Promise.all(receivers.map((r, i) => r.waitFor(() => r.requests.length >= starts[i]! + total, 300_000, 'steady-state deliveries')));
}

const receiver = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const load = () => loadavg().map((n) => n.toFixed(1)).join(' ');
// Every figure depends on what else the machine runs (Kafka, PostgreSQL and Redis share it): the
// load average is printed before and after, and the ratios compare runs made back to back.
console.log(`# webhook delivery, ${DELIVERIES} deliveries per throughput run, concurrency ${CONCURRENCY}, 10 per endpoint; load average ${load()}`);
const baseline = await bareBullmq(DELIVERIES);
const bare = baseline.perSecond;
console.log(`baseline: bare BullMQ (addBulk + no-op worker)      ${fmt(bare).padStart(8)} jobs/s        100%                   ${baseline.cpuMsPerJob.toFixed(2)} ms CPU per job (worker process)`);
for (const endpoints of [1, 10, 100]) {
  const r = await throughput(endpoints, receiver);
  console.log(
    `delivery, ${String(endpoints).padStart(3)} endpoint${endpoints === 1 ? ' ' : 's'} (Kafka → receiver)    ${fmt(r.perSecond).padStart(8)} deliveries/s  ` +
      `${((100 * r.perSecond) / bare).toFixed(0).padStart(3)}% of bare BullMQ   ${r.cpuMsPerDelivery.toFixed(2)} ms CPU per delivery`,
  );
}

{
  const h = await createHarness();
  const r = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
  await h.endpoint(r.url);
  await withDelivery(h, async () => {
    await h.publish([sampleAlert(h.projectId)]);
    await r.waitFor(() => r.requests.length === 1, 180_000, 'warm-up');
    await steady([h], [r], 200, STEADY_SECONDS);
  });
  const l = latencies(r, 1);
  console.log(`latency at 200 alerts/s, alert on topic → receipt (${l.length} alerts): p50 ${quantile(l, 0.5)} ms  p99 ${quantile(l, 0.99)} ms  (goal p99 < 250 ms)`);
  await r.close();
  await h.close();
}

{
  const [solo, mixed] = await Promise.all([createHarness(), createHarness()]);
  const soloReceiver = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
  const mixedReceiver = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
  const hanging = await startReceiver({ secrets: () => [], reply: () => ({ hangMs: 30_000 }) });
  await solo.endpoint(soloReceiver.url);
  await mixed.endpoint(mixedReceiver.url);
  await mixed.endpoint(hanging.url);
  const processes = [spawnDelivery(solo.env(PRODUCTION)), spawnDelivery(mixed.env(PRODUCTION))];
  await Promise.all([solo.publish([sampleAlert(solo.projectId)]), mixed.publish([sampleAlert(mixed.projectId)])]);
  await soloReceiver.waitFor(() => soloReceiver.requests.length === 1, 180_000, 'warm-up');
  await mixedReceiver.waitFor(() => mixedReceiver.requests.length === 1, 180_000, 'warm-up');
  const cpu0 = processes.map((p) => cpuSeconds(p.child.pid!));
  await steady([solo, mixed], [soloReceiver, mixedReceiver], 200, STEADY_SECONDS);
  const cpu = processes.map((p, i) => cpuSeconds(p.child.pid!) - cpu0[i]!);
  await hanging.close();
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  const a = latencies(soloReceiver, 1);
  const b = latencies(mixedReceiver, 1);
  console.log(
    `isolation at 200 alerts/s: healthy endpoint alone p50 ${quantile(a, 0.5)} ms p99 ${quantile(a, 0.99)} ms; ` +
      `beside an endpoint hanging 30 s p50 ${quantile(b, 0.5)} ms p99 ${quantile(b, 0.99)} ms; ` +
      `p99 ratio ${(quantile(b, 0.99) / quantile(a, 0.99)).toFixed(2)} (goal ≤ 2); hanging endpoint: ${hanging.requests.length} requests, ` +
      `at most ${hanging.maxOpen()} open; CPU s alone ${cpu[0]!.toFixed(2)}, beside ${cpu[1]!.toFixed(2)}`,
  );
  await Promise.all([solo.close(), mixed.close()]);
  await soloReceiver.close();
  await mixedReceiver.close();
}

console.log(`# load average at the end ${load()}`);
await receiver.close();
process.exit(0);
