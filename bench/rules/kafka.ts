/**
 * The rule engine service reading from Kafka: events per second of one worker (one process) with 1,
 * 10, 100 and 1,000 rules of the realistic mix (workload.ts: 20% aggregating), against a baseline
 * measured in the same run on the same messages — a consumer group member that only decodes them
 * (Confluent Avro through the registry, as every consumer must).
 *
 * Setup (untimed): an isolated database with one organization and five projects, the events
 * produced once to the events topic keyed by event id (as ingest does: spread over its partitions).
 * Each configuration stores its rules and starts a fresh worker — its own consumer groups and
 * re-partition topic, so it starts from offset 0 with no state — in this process.
 *
 * Two figures per configuration, both from the first record read to the last:
 * - routing: the routing stage has read, decoded, evaluated (which rules and groups) and produced
 *   every event to the re-partition topic (acks=all);
 * - end to end: the detection stage has also applied every routed message to the rule state and
 *   written state, alerts and position to PostgreSQL (one transaction per batch).
 * Both stages run concurrently in the one process, so "end to end" is the worker's throughput.
 * The machine may be shared: each configuration runs twice, each run paired with a baseline run
 * just before it, and the best of each is reported.
 *
 * Run against the development stack (or any Kafka, registry and PostgreSQL; DATABASE_URL must be
 * allowed to create databases):
 *   source /tmp/vigil-dev/env.sh && node --import tsx bench/rules/kafka.ts [events=100000] [rule counts=1,10,100,1000]
 * (BENCH_RUNS=n changes the number of paired runs per configuration.)
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { EventRecord } from '@vigil/contracts';
import { createProject } from '@vigil/db';
import { createHarness, metricValue } from '../../services/rules/src/testing/harness';
import { decodeOnly } from './decode-baseline';
import { createWorkload } from './workload';

const EVENTS = Number(process.argv[2] ?? 100_000);
const COUNTS = (process.argv[3] ?? '1,10,100,1000').split(',').map(Number);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const h = await createHarness('bench');
for (const name of ['api', 'mobile', 'billing', 'admin']) await createProject(h.pool, h.organizationId, name);
const workload = createWorkload(42, Date.now() - EVENTS * 5 - 60_000);
const toContract = (e: ReturnType<typeof workload.makeEvent>): EventRecord => ({ ...e, raw: Buffer.from('{}') }) as EventRecord;

process.stdout.write(`producing ${fmt(EVENTS)} events … `);
const t0 = performance.now();
for (let i = 0; i < EVENTS; i += 5000) {
  await h.produceEvents(Array.from({ length: Math.min(5000, EVENTS - i) }, (_, k) => toContract(workload.makeEvent(i + k))));
}
console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
const allRules = Array.from({ length: Math.max(...COUNTS) }, (_, i) => workload.makeRule(i));

/** CPU time (user + system) this process spent since `from`, in µs per event. */
const cpuPerEvent = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / EVENTS;
};

/** Decode-only consumer: the same messages, the same codec, nothing else. */
async function baseline(): Promise<{ rate: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const ms = await decodeOnly(h, EVENTS);
  return { rate: EVENTS / (ms / 1000), cpu: cpuPerEvent(cpu) };
}

interface Run { routeRate: number; endRate: number; cpu: number; messages: number; alerts: number }

async function worker(rules: number): Promise<Run> {
  await h.pool.query('delete from rules');
  const pending = allRules.slice(0, rules);
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let r = pending.shift(); r !== undefined; r = pending.shift()) await h.rule(r);
  }));
  const tag = `${rules}.${randomBytes(3).toString('hex')}`;
  const cpu = process.cpuUsage();
  const w = await h.start({
    VIGIL_RULES_ROUTE_GROUP: `${h.topicPrefix}bench.route.${tag}`,
    VIGIL_RULES_DETECT_GROUP: `${h.topicPrefix}bench.detect.${tag}`,
    VIGIL_RULES_REPARTITION_TOPIC: `${h.topicPrefix}bench.repartition.${tag}`,
  });
  const m = w.metrics;
  let first = 0;
  let routed = 0;
  for (;;) {
    const read = await metricValue(m, 'vigil_rules_input_records_total');
    const now = performance.now();
    if (first === 0 && read > 0) first = now;
    if (routed === 0 && read >= EVENTS) routed = now;
    if (routed > 0) {
      const applied = (await metricValue(m, 'vigil_rules_records_applied_total')) + (await metricValue(m, 'vigil_rules_records_dropped_total', { stage: 'detect' }));
      if (applied >= (await metricValue(m, 'vigil_rules_repartitioned_total'))) break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const end = performance.now();
  const run = {
    cpu: cpuPerEvent(cpu),
    routeRate: EVENTS / (Math.max(1, routed - first) / 1000),
    endRate: EVENTS / (Math.max(1, end - first) / 1000),
    messages: await metricValue(m, 'vigil_rules_repartitioned_total'),
    // Detections (a repeated run finds the same ones, already stored: duplicates).
    alerts: await metricValue(m, 'vigil_rules_alerts_total'),
  };
  await w.stop();
  return run;
}

console.log(`rules service benchmark — ${fmt(EVENTS)} events from Kafka per run, one worker, node ${process.version}`);
console.log('baseline: a consumer that only decodes the same messages (best of the runs paired with each configuration)');
console.log('cpu: CPU time of this process (all threads) per event over the run, start-up included — what to compare on a shared machine\n');
console.log(
  `${'rules'.padEnd(16)} ${'baseline ev/s'.padStart(14)} ${'µs/event'.padStart(9)} ${'cpu µs/ev'.padStart(10)} ${'routing ev/s'.padStart(13)} ${'× base'.padStart(7)} ` +
    `${'end-to-end ev/s'.padStart(16)} ${'µs/event'.padStart(9)} ${'× base'.padStart(7)} ${'cpu µs/ev'.padStart(10)} ${'cpu × base'.padStart(11)} ${'entries/ev'.padStart(11)} ${'alerts'.padStart(7)}`,
);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
for (const n of COUNTS) {
  let base = 0;
  let baseCpu = Number.POSITIVE_INFINITY;
  const runs: Run[] = [];
  for (let run = 0; run < RUNS; run++) {
    const b = await baseline();
    base = Math.max(base, b.rate);
    baseCpu = Math.min(baseCpu, b.cpu);
    runs.push(await worker(n));
  }
  const r = runs.reduce((a, b) => (b.endRate > a.endRate ? b : a));
  r.routeRate = Math.max(...runs.map((x) => x.routeRate));
  r.cpu = Math.min(...runs.map((x) => x.cpu));
  const agg = allRules.slice(0, n).filter((x) => x.aggregate !== null).length;
  console.log(
    `${`${n} (${agg} agg)`.padEnd(16)} ${fmt(base).padStart(14)} ${(1e6 / base).toFixed(1).padStart(9)} ${baseCpu.toFixed(1).padStart(10)} ${fmt(r.routeRate).padStart(13)} ${(r.routeRate / base).toFixed(2).padStart(7)} ` +
      `${fmt(r.endRate).padStart(16)} ${(1e6 / r.endRate).toFixed(1).padStart(9)} ${(r.endRate / base).toFixed(2).padStart(7)} ${r.cpu.toFixed(1).padStart(10)} ${(baseCpu / r.cpu).toFixed(2).padStart(11)} ${(r.messages / EVENTS).toFixed(2).padStart(11)} ${String(r.alerts).padStart(7)}`,
  );
}
await h.close();
process.exit(0);
