/**
 * Two workers share the load and still raise exactly one alert per detection: the first worker
 * counts half of every attacker's failed logins, a second worker joins (a rebalance moves half of
 * the re-partition topic's partitions, and their state, to it), the rest of the logins arrive, and
 * every attacker is alerted on exactly once — by whichever worker holds its group — while those
 * below the threshold are not.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { listAlerts } from '@vigil/db';
import type { EventRecord } from '@vigil/contracts';
import type { RunningRules } from './rules-service';
import { createHarness, metricValue, securityEvent, waitFor, type AlertWatch, type Harness } from './testing/harness';

let h: Harness;
let watch: AlertWatch;
const ATTACKERS = Array.from({ length: 24 }, (_, i) => `203.0.113.${i + 1}`);
const PROBERS = Array.from({ length: 12 }, (_, i) => `198.51.100.${i + 1}`);
const T0 = Date.now() - 20 * 60_000;

before(async () => {
  h = await createHarness('rwk');
  await h.rule({
    id: 'brute',
    name: 'Brute force',
    project_id: null,
    source: 'events',
    severity: 'high',
    match: { field: 'type', eq: 'auth.login_failed' },
    aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 10 },
  });
  watch = await h.watchAlerts();
});
after(() => h.close());

const sum = async (workers: RunningRules[], name: string, labels: Record<string, string> = {}) =>
  (await Promise.all(workers.map((w) => metricValue(w.metrics, name, labels)))).reduce((a, b) => a + b, 0);

/** Waits until the workers together applied `n` messages (one per failed login here). */
async function applied(workers: RunningRules[], n: number): Promise<void> {
  await waitFor(`${n} records applied`, async () => (await sum(workers, 'vigil_rules_records_applied_total')) >= n, 120_000);
}

function logins(ip: string, from: number, to: number): EventRecord[] {
  return Array.from({ length: to - from }, (_, k) => securityEvent(h.projectId, { client_ip: ip, timestamp_ms: T0 + (from + k) * 15_000 }));
}

test('a second worker takes over half the groups mid-window; each detection alerts exactly once', async () => {
  const first = await h.start();
  await h.produceEvents([...ATTACKERS.flatMap((ip) => logins(ip, 0, 5)), ...PROBERS.flatMap((ip) => logins(ip, 0, 5))]);
  const half = (ATTACKERS.length + PROBERS.length) * 5;
  await applied([first], half);

  const second = await h.start();
  await waitFor('the re-partition topic split between the two workers', () => {
    const a = first.status().assignedPartitions;
    const b = second.status().assignedPartitions;
    return a.length > 0 && b.length > 0 && a.length + b.length === 8 && !a.some((p) => b.includes(p));
  }, 120_000);
  const appliedByFirst = await metricValue(first.metrics, 'vigil_rules_records_applied_total');

  await h.produceEvents([...ATTACKERS.flatMap((ip) => logins(ip, 5, 10)), ...PROBERS.flatMap((ip) => logins(ip, 5, 9))]);
  const total = ATTACKERS.length * 10 + PROBERS.length * 9;
  await applied([first, second], total);
  for (const w of [first, second]) await w.flushAlerts();
  await waitFor('an alert per attacker', () => watch.created().length >= ATTACKERS.length, 60_000);
  await new Promise((r) => setTimeout(r, 1500));

  // Both shared the second half.
  assert.ok((await metricValue(first.metrics, 'vigil_rules_records_applied_total')) > appliedByFirst, 'the first worker kept working');
  assert.ok((await metricValue(second.metrics, 'vigil_rules_records_applied_total')) > 0, 'the second worker took part');
  assert.equal(await sum([first, second], 'vigil_rules_records_applied_total'), total, 'no record applied twice');

  const created = watch.created();
  assert.equal(created.length, ATTACKERS.length);
  assert.deepEqual(created.map((a) => a.group_values.client_ip).sort(), [...ATTACKERS].sort());
  assert.ok(created.every((a) => a.value === 10));
  assert.equal(new Set(created.map((a) => a.id)).size, ATTACKERS.length);
  const stored = await listAlerts(h.pool, { organizationId: h.organizationId, limit: 200 });
  assert.deepEqual(stored.map((a) => a.id).sort(), created.map((a) => a.id).sort());
  await second.stop();
  await first.stop();
});
