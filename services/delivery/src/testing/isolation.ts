/**
 * Head-of-line isolation measured with the production defaults (100 deliveries in flight per
 * process, 10 per endpoint, 15 s timeout, default retry schedule), shared by the isolation tests.
 *
 * Two delivery processes run side by side, each with its own topics, queue and database: in "solo"
 * a healthy endpoint is the only subscriber; in "mixed" the same kind of healthy endpoint shares
 * every alert with a troubled one. Both get the same alerts at the same moments, so background load
 * on the machine affects both measurements alike, and the healthy endpoints' latencies (alert on
 * topic → receipt) are compared.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnDelivery, type DeliveryProcess } from './delivery-process';
import { createHarness, sampleAlert, type Harness } from './harness';
import { startReceiver, type Receiver } from './receiver';

export const ALERTS = 450;
export const RATE_PER_SECOND = 30;

export interface Troubled {
  url: string;
  /** How it misbehaves, for the log line. */
  what: string;
  /** Called first on cleanup (a receiver holding requests resets them, so they end now). */
  close(): Promise<void>;
}

export interface Measurement {
  soloP99: number;
  mixedP99: number;
  /** The troubled endpoint's recorded attempts by error class ("none" for a success). */
  troubledAttempts: Record<string, number>;
  /**
   * In the mixed process, the median time from a measured alert's message being stored to its first
   * attempt starting (Infinity when most were not tried yet), for the healthy endpoint and the
   * troubled one.
   */
  firstAttemptP50: { healthy: number; troubled: number };
}

function latencies(receiver: Receiver, from: number): number[] {
  return receiver.requests.slice(from).map((r) => r.receivedAt - Date.parse((JSON.parse(r.body) as { timestamp: string }).timestamp));
}

function cpuSeconds(p: DeliveryProcess): number {
  const fields = readFileSync(`/proc/${p.child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

async function attemptsByClass(h: Harness, webhookId: string): Promise<Record<string, number>> {
  const { rows } = await h.pool.query<{ error_class: string; n: string }>(
    `select coalesce(error_class, 'none') as error_class, count(*) as n from webhook_attempts where webhook_id = $1 group by 1`,
    [webhookId],
  );
  return Object.fromEntries(rows.map((r) => [r.error_class, Number(r.n)]));
}

/** For each message of the endpoint stored since `from`: ms from storing to its first attempt (Infinity if none). */
async function firstAttemptDelays(h: Harness, webhookId: string, from: number): Promise<number[]> {
  const { rows } = await h.pool.query<{ delay_ms: number | null }>(
    `select extract(epoch from (select min(a.started_at) from webhook_attempts a where a.message_id = m.id) - m.created_at) * 1000 as delay_ms
     from webhook_messages m where m.webhook_id = $1 and m.created_at >= $2`,
    [webhookId, new Date(from)],
  );
  return rows.map((r) => (r.delay_ms === null ? Infinity : Number(r.delay_ms)));
}

/** Runs the solo and mixed processes with `troubled` beside the mixed healthy endpoint; see above. */
export async function healthyBeside(troubled: Troubled): Promise<Measurement> {
  let solo: Harness | undefined;
  let mixed: Harness | undefined;
  const receivers: Receiver[] = [];
  const processes: DeliveryProcess[] = [];
  const phases: string[] = [];
  let phaseStart = Date.now();
  const phase = (name: string) => {
    phases.push(`${name} ${((Date.now() - phaseStart) / 1000).toFixed(1)} s`);
    phaseStart = Date.now();
  };
  try {
    [solo, mixed] = await Promise.all([createHarness(), createHarness()]);
    const soloReceiver = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
    receivers.push(soloReceiver);
    const mixedReceiver = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
    receivers.push(mixedReceiver);
    await solo.endpoint(soloReceiver.url);
    const healthyEndpoint = await mixed.endpoint(mixedReceiver.url);
    const troubledEndpoint = await mixed.endpoint(troubled.url);
    const production = { VIGIL_WEBHOOK_RETRY_SCHEDULE: '5s,5m,30m,2h,5h,10h,10h', VIGIL_WEBHOOK_RETRY_JITTER: '0.2', VIGIL_LOG_LEVEL: 'warn' };
    for (const h of [solo, mixed]) processes.push(spawnDelivery(h.env(production)));
    // Logged at warn, "started" is not printed: wait for the first deliveries instead.

    phase('setup');
    // Warm-up: consumer groups joined, connections open, code paths compiled.
    await Promise.all([solo.publish([sampleAlert(solo.projectId)]), mixed.publish([sampleAlert(mixed.projectId)])]);
    await soloReceiver.waitFor(() => soloReceiver.requests.length === 1, 180_000, 'solo warm-up');
    await mixedReceiver.waitFor(() => mixedReceiver.requests.length === 1, 180_000, 'mixed warm-up');

    phase('start and warm-up');
    const cpu0 = processes.map(cpuSeconds);
    const t0 = Date.now();
    for (let i = 0; i < ALERTS; i += 1) {
      const due = t0 + (i * 1000) / RATE_PER_SECOND;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      const now = Date.now();
      await Promise.all([
        solo.publish([sampleAlert(solo.projectId, { created_at_ms: now, updated_at_ms: now })]),
        mixed.publish([sampleAlert(mixed.projectId, { created_at_ms: now, updated_at_ms: now })]),
      ]);
    }
    phase('publishing');
    await soloReceiver.waitFor(() => soloReceiver.requests.length === ALERTS + 1, 180_000, 'every alert at the solo endpoint');
    await mixedReceiver.waitFor(() => mixedReceiver.requests.length === ALERTS + 1, 180_000, `every alert at the healthy endpoint beside ${troubled.what}`);
    assert.equal(mixedReceiver.ids().size, ALERTS + 1, 'each alert reached the healthy endpoint once');
    phase('rest of the deliveries');

    const cpu = processes.map((p, i) => (cpuSeconds(p) - cpu0[i]!).toFixed(2));
    const alone = latencies(soloReceiver, 1);
    const beside = latencies(mixedReceiver, 1);
    const soloP99 = quantile(alone, 0.99);
    const mixedP99 = quantile(beside, 0.99);
    const troubledAttempts = await attemptsByClass(mixed, troubledEndpoint.id);
    const firstAttemptP50 = {
      healthy: quantile(await firstAttemptDelays(mixed, healthyEndpoint.id, t0), 0.5),
      troubled: quantile(await firstAttemptDelays(mixed, troubledEndpoint.id, t0), 0.5),
    };
    console.log(
      `healthy endpoint, alert on topic → receipt, ${ALERTS} alerts at ${RATE_PER_SECOND}/s: ` +
        `solo p50 ${quantile(alone, 0.5)} ms p99 ${soloP99} ms max ${Math.max(...alone)} ms; beside ${troubled.what}: ` +
        `p50 ${quantile(beside, 0.5)} ms p99 ${mixedP99} ms max ${Math.max(...beside)} ms (ratio ${(mixedP99 / soloP99).toFixed(2)}); attempts recorded for the troubled endpoint: ` +
        `${JSON.stringify(troubledAttempts)}; median from message stored to first attempt: ` +
        `healthy ${firstAttemptP50.healthy.toFixed(0)} ms, troubled ${firstAttemptP50.troubled.toFixed(0)} ms; CPU seconds used: solo process ${cpu[0]}, mixed process ${cpu[1]}; time: ${phases.join(', ')}`,
    );
    return { soloP99, mixedP99, troubledAttempts, firstAttemptP50 };
  } finally {
    phaseStart = Date.now();
    await troubled.close();
    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    await Promise.all([solo?.close(), mixed?.close()]);
    for (const r of receivers) await r.close();
    phase('cleanup');
    console.log(`isolation beside ${troubled.what}: ${phases.slice(-1)[0]}`);
  }
}

