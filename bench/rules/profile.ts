/**
 * Where the rules service spends its CPU reading from Kafka: runs the decode-only baseline and one
 * worker over the same events (as kafka.ts does), each with a CPU profile of just that phase.
 *   node --import tsx bench/rules/profile.ts [events=30000] [rules=100] [out dir=/tmp]
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import type { EventRecord } from '@vigil/contracts';
import { createProject } from '@vigil/db';
import { createHarness, metricValue } from '../../services/rules/src/testing/harness';
import { decodeOnly } from './decode-baseline';
import { createWorkload } from './workload';

const EVENTS = Number(process.argv[2] ?? 30_000);
const RULES = Number(process.argv[3] ?? 100);
const OUT = process.argv[4] ?? '/tmp';
const h = await createHarness('bench');
for (const name of ['api', 'mobile', 'billing', 'admin']) await createProject(h.pool, h.organizationId, name);
const workload = createWorkload(42, Date.now() - EVENTS * 5 - 60_000);
for (let i = 0; i < EVENTS; i += 5000) {
  await h.produceEvents(Array.from({ length: Math.min(5000, EVENTS - i) }, (_, k) => ({ ...workload.makeEvent(i + k), raw: Buffer.from('{}') }) as EventRecord));
}
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 200 });

async function profiled<T>(name: string, run: () => Promise<T>): Promise<T> {
  await session.post('Profiler.start');
  const cpu = process.cpuUsage();
  const t = performance.now();
  const out = await run();
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - t;
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(`${OUT}/${name}.cpuprofile`, JSON.stringify(profile));
  console.log(`${name}: wall ${(wall / 1000).toFixed(2)} s, ${(EVENTS / (wall / 1000)).toFixed(0)} ev/s, cpu ${((used.user + used.system) / EVENTS).toFixed(1)} µs/event (user ${(used.user / EVENTS).toFixed(1)})`);
  return out;
}

await profiled('baseline', () => decodeOnly(h, EVENTS));

for (let i = 0; i < RULES; i++) await h.rule(workload.makeRule(i));
const tag = randomBytes(3).toString('hex');
const w = await h.start({
  VIGIL_RULES_ROUTE_GROUP: `${h.topicPrefix}bench.route.${tag}`,
  VIGIL_RULES_DETECT_GROUP: `${h.topicPrefix}bench.detect.${tag}`,
  VIGIL_RULES_REPARTITION_TOPIC: `${h.topicPrefix}bench.repartition.${tag}`,
});
await profiled('worker', async () => {
  const m = w.metrics;
  for (;;) {
    const read = await metricValue(m, 'vigil_rules_input_records_total');
    if (read >= EVENTS) {
      const applied = (await metricValue(m, 'vigil_rules_records_applied_total')) + (await metricValue(m, 'vigil_rules_records_dropped_total', { stage: 'detect' }));
      if (applied >= (await metricValue(m, 'vigil_rules_repartitioned_total'))) break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const { values } = await m.getSingleMetric('vigil_rules_batch_duration_seconds')!.get();
  for (const stage of ['route', 'detect']) {
    const pick = (suffix: string) => values.find((v) => (v as { metricName?: string }).metricName === `vigil_rules_batch_duration_seconds_${suffix}` && v.labels.stage === stage)?.value ?? 0;
    console.log(`${stage}: ${pick('count')} batches, ${(pick('sum') * 1000).toFixed(0)} ms in handlers`);
  }
  console.log(`messages/event ${((await metricValue(m, 'vigil_rules_repartitioned_total')) / EVENTS).toFixed(2)}, alerts ${await metricValue(m, 'vigil_rules_alerts_total')}`);
});
await w.stop();
await h.close();
process.exit(0);
