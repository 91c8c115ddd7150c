import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { spawnDelivery, type DeliveryProcess } from '../testing/delivery-process';
import { createHarness, sampleAlert, type Harness } from '../testing/harness';
import { startReceiver, type Receiver } from '../testing/receiver';

/**
 * Head-of-line isolation with the production defaults (100 deliveries in flight per process, 10 per
 * endpoint, 15 s timeout, default retry schedule).
 *
 * Two delivery processes run side by side, each with its own topics, queue and database: in "solo"
 * a healthy endpoint is the only subscriber; in "mixed" the same kind of healthy endpoint shares
 * every alert with an endpoint that holds each request for 30 s. Both get the same alerts at the
 * same moments, so background load on the machine affects both measurements alike, and the
 * healthy endpoints' latencies (alert on topic → receipt) are compared: the mixed one's p99 must
 * stay within 2× of the solo one's.
 */
const ALERTS = 450;
const RATE_PER_SECOND = 30;

let solo: Harness;
let mixed: Harness;
let soloReceiver: Receiver;
let mixedReceiver: Receiver;
let hanging: Receiver;
const processes: DeliveryProcess[] = [];

before(async () => {
  [solo, mixed] = await Promise.all([createHarness(), createHarness()]);
  soloReceiver = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
  mixedReceiver = await startReceiver({ secrets: () => [], reply: () => ({ status: 204 }) });
  hanging = await startReceiver({ secrets: () => [], reply: () => ({ hangMs: 30_000 }) });
  await solo.endpoint(soloReceiver.url);
  await mixed.endpoint(mixedReceiver.url);
  await mixed.endpoint(hanging.url);
  const production = { VIGIL_WEBHOOK_RETRY_SCHEDULE: '5s,5m,30m,2h,5h,10h,10h', VIGIL_WEBHOOK_RETRY_JITTER: '0.2', VIGIL_LOG_LEVEL: 'warn' };
  for (const h of [solo, mixed]) processes.push(spawnDelivery(h.env(production)));
  // Logged at warn, "started" is not printed: wait for the first deliveries instead.
});
after(async () => {
  // Closing the hanging receiver resets its connections, so the requests it holds end now.
  await hanging.close();
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  await Promise.all([solo.close(), mixed.close()]);
  await soloReceiver.close();
  await mixedReceiver.close();
});

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

test('an endpoint hanging for 30 s does not slow a healthy one: its p99 stays within 2x of the solo p99', async () => {
  // Warm-up: consumer groups joined, connections open, code paths compiled.
  await Promise.all([solo.publish([sampleAlert(solo.projectId)]), mixed.publish([sampleAlert(mixed.projectId)])]);
  await soloReceiver.waitFor(() => soloReceiver.requests.length === 1, 180_000, 'solo warm-up');
  await mixedReceiver.waitFor(() => mixedReceiver.requests.length === 1, 180_000, 'mixed warm-up');

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
  await soloReceiver.waitFor(() => soloReceiver.requests.length === ALERTS + 1, 180_000, 'every alert at the solo endpoint');
  await mixedReceiver.waitFor(() => mixedReceiver.requests.length === ALERTS + 1, 180_000, 'every alert at the healthy endpoint beside the hanging one');

  const cpu = processes.map((p, i) => (cpuSeconds(p) - cpu0[i]!).toFixed(2));
  const alone = latencies(soloReceiver, 1);
  const beside = latencies(mixedReceiver, 1);
  const soloP99 = quantile(alone, 0.99);
  const mixedP99 = quantile(beside, 0.99);
  console.log(
    `healthy endpoint, alert on topic → receipt, ${ALERTS} alerts at ${RATE_PER_SECOND}/s: ` +
      `solo p50 ${quantile(alone, 0.5)} ms p99 ${soloP99} ms; beside an endpoint hanging 30 s: p50 ${quantile(beside, 0.5)} ms ` +
      `p99 ${mixedP99} ms (ratio ${(mixedP99 / soloP99).toFixed(2)}); the hanging endpoint got ${hanging.requests.length} requests, ` +
      `at most ${hanging.maxOpen()} open at once; CPU seconds used: solo process ${cpu[0]}, mixed process ${cpu[1]}`,
  );
  assert.ok(hanging.requests.length > 0, 'the hanging endpoint was subscribed and tried');
  assert.ok(hanging.maxOpen() <= 10, `the hanging endpoint held at most its 10 slots, not ${hanging.maxOpen()}`);
  assert.ok(mixedP99 <= 2 * soloP99, `p99 beside a hanging endpoint ${mixedP99} ms > 2 × solo p99 ${soloP99} ms`);
});
