/**
 * Where a delivery's time and CPU go, for working on delivery's speed (end-to-end.ts is the
 * benchmark of record). Runs the delivery service as its own process on one harness and either
 *
 * - `burst`: publishes `deliveries` alerts' worth at once to `endpoints` endpoints and prints
 *   deliveries/s, or
 * - `steady`: publishes `rate` alerts/s for `seconds` and prints p50/p99 of each stage: alert on
 *   topic → message stored, stored → first attempt started, attempt started → receipt, and in all,
 *
 * with the CPU time per delivery of the delivery process and of its PostgreSQL backends (read from
 * /proc, so PostgreSQL must run on this machine). With PROFILE_DIR set, the delivery process writes
 * a CPU profile there (node --cpu-prof) when it stops.
 *
 * Run: node --import tsx bench/delivery/stages.ts burst [endpoints=10] [deliveries=3000]
 *      node --import tsx bench/delivery/stages.ts steady [rate=200] [seconds=8]
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createHarness, sampleAlert } from '../../services/delivery/src/testing/harness';
import { cpuSeconds, quantile } from './measure';
import { startReceiver } from '../../services/delivery/src/testing/receiver';

const [mode = 'burst', a, b] = process.argv.slice(2);
const MAIN = fileURLToPath(new URL('../../services/delivery/src/main.ts', import.meta.url));

const receiver = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
const h = await createHarness();
const endpoints = mode === 'steady' ? 1 : Number(a ?? 10);
for (let i = 0; i < endpoints; i += 1) await h.endpoint(`${receiver.url}?ep=${i}`);
const env = h.env({ VIGIL_WEBHOOK_RETRY_SCHEDULE: '5s,5m,30m,2h,5h,10h,10h', VIGIL_WEBHOOK_RETRY_JITTER: '0.2', VIGIL_LOG_LEVEL: 'warn' });
const profile = process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : [];
const child = spawn(process.execPath, [...profile, '--import', 'tsx', MAIN], { env: { ...process.env, ...env }, stdio: 'ignore' });
const exited = new Promise((resolve) => child.once('exit', resolve));

/** CPU seconds used so far by the delivery process and by its PostgreSQL backends. */
async function cpu(): Promise<{ delivery: number; postgres: number }> {
  const { rows } = await h.pool.query<{ pid: number }>(`select pid from pg_stat_activity where application_name = 'vigil-delivery'`);
  let postgres = 0;
  for (const row of rows) {
    try {
      postgres += cpuSeconds(row.pid);
    } catch {
      // The backend ended meanwhile.
    }
  }
  return { delivery: cpuSeconds(child.pid!), postgres };
}

try {
  await h.publish([sampleAlert(h.projectId)]);
  await receiver.waitFor(() => receiver.requests.length >= endpoints, 180_000, 'warm-up');
  const start = receiver.requests.length;
  const cpu0 = await cpu();
  const t0 = Date.now();
  let deliveries: number;
  if (mode === 'steady') {
    const rate = Number(a ?? 200);
    deliveries = Math.round(rate * Number(b ?? 8));
    for (let i = 0; i < deliveries; i += 1) {
      const due = t0 + (i * 1000) / rate;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const now = Date.now();
      void h.publish([sampleAlert(h.projectId, { created_at_ms: now, updated_at_ms: now })]);
    }
  } else {
    const alerts = Math.max(1, Math.round(Number(b ?? 3000) / endpoints));
    deliveries = alerts * endpoints;
    await h.publish(Array.from({ length: alerts }, () => sampleAlert(h.projectId)));
  }
  await receiver.waitFor(() => receiver.requests.length >= start + deliveries, 600_000, `${deliveries} deliveries`);
  const seconds = (Date.now() - t0) / 1000;
  const cpu1 = await cpu();
  const perDelivery = (s: number) => ((s * 1000) / deliveries).toFixed(2);
  console.log(
    `# ${mode}, ${endpoints} endpoint(s), ${deliveries} deliveries in ${seconds.toFixed(1)} s (${Math.round(deliveries / seconds)}/s); ` +
      `CPU per delivery: delivery process ${perDelivery(cpu1.delivery - cpu0.delivery)} ms, PostgreSQL ${perDelivery(cpu1.postgres - cpu0.postgres)} ms; ` +
      `load average ${loadavg().map((n) => n.toFixed(1)).join(' ')}`,
  );
  if (mode === 'steady') {
    const requests = receiver.requests.slice(start);
    const { rows } = await h.pool.query<{ id: string; stored: number; started: number }>(
      `select m.id, extract(epoch from m.created_at) * 1000 as stored, extract(epoch from a.started_at) * 1000 as started
       from webhook_messages m join webhook_attempts a on a.message_id = m.id and a.attempt = 1 where m.id = any ($1)`,
      [requests.map((r) => r.id)],
    );
    const byId = new Map(rows.map((r) => [r.id, { stored: Number(r.stored), started: Number(r.started) }]));
    const stages: Record<string, number[]> = { 'topic → stored': [], 'stored → attempt': [], 'attempt → receipt': [], 'topic → receipt': [] };
    for (const r of requests) {
      const written = Date.parse((JSON.parse(r.body) as { timestamp: string }).timestamp);
      const row = byId.get(r.id);
      if (!row) continue;
      stages['topic → stored']!.push(row.stored - written);
      stages['stored → attempt']!.push(row.started - row.stored);
      stages['attempt → receipt']!.push(r.receivedAt - row.started);
      stages['topic → receipt']!.push(r.receivedAt - written);
    }
    for (const [stage, values] of Object.entries(stages)) {
      console.log(`${stage.padEnd(18)} p50 ${quantile(values, 0.5).toFixed(0).padStart(6)} ms  p99 ${quantile(values, 0.99).toFixed(0).padStart(6)} ms`);
    }
  }
} finally {
  child.kill('SIGTERM');
  await exited;
  await h.close();
  await receiver.close();
}
process.exit(0);
