/**
 * A worker killed with SIGKILL loses nothing and repeats nothing: the rules service runs as a child
 * process (`node --import tsx services/rules/src/main.ts`), is killed mid-window and started again,
 * and every detection still alerts exactly once — one row, one `alert.created` on the topic.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { listAlerts } from '@vigil/db';
import { createHarness, securityEvent, waitFor, type AlertWatch, type Harness } from './testing/harness';

let h: Harness;
let watch: AlertWatch;
const T0 = Date.now() - 30 * 60_000;

before(async () => {
  h = await createHarness('rck');
  await h.rule({
    id: 'brute',
    name: 'Brute force',
    project_id: h.projectId,
    source: 'events',
    severity: 'high',
    match: { field: 'type', eq: 'auth.login_failed' },
    aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 10 },
  });
  watch = await h.watchAlerts();
});
after(() => h.close());

/** Routed records applied and stored, over all tasks. */
async function appliedInDatabase(): Promise<number> {
  const { rows } = await h.pool.query<{ n: number }>('select coalesce(sum(applied_records), 0)::int as n from rule_tasks');
  return rows[0]!.n;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  const [code, signal] = (await exited) as [number | null, string | null];
  assert.equal(signal, 'SIGKILL', `the worker had already exited with ${code}`);
}

test('killed with six of ten failed logins counted, restarted, the tenth login alerts exactly once', async () => {
  const ip = '203.0.113.50';
  const login = (i: number) => securityEvent(h.projectId, { client_ip: ip, timestamp_ms: T0 + i * 20_000 });
  let worker = h.spawn();
  await h.produceEvents([0, 1, 2, 3, 4, 5].map(login));
  await waitFor('six logins stored in the rule state', async () => (await appliedInDatabase()) >= 6, 120_000);
  await kill(worker);

  await h.produceEvents([6, 7, 8, 9].map(login));
  worker = h.spawn();
  const alert = await waitFor('the alert', () => watch.created().find((a) => a.group_values.client_ip === ip), 120_000);
  assert.equal(alert.value, 10);
  assert.equal(alert.first_seen_ms, T0);
  assert.equal(alert.last_seen_ms, T0 + 9 * 20_000);
  await waitFor('all ten applied', async () => (await appliedInDatabase()) >= 10, 60_000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(watch.created().filter((a) => a.group_values.client_ip === ip).length, 1);
  assert.equal((await listAlerts(h.pool, { organizationId: h.organizationId, limit: 200 })).filter((a) => a.group_values.client_ip === ip).length, 1);
  await kill(worker);
});

test('killed at any point of a stream of detections, restarted: each alerts exactly once', async (t) => {
  const attackers = Array.from({ length: 30 }, (_, i) => `198.51.100.${i + 1}`);
  const start = await appliedInDatabase();
  // Attackers interleaved in time, so detections complete all through the stream.
  const events = [];
  for (let k = 0; k < 10; k++) {
    for (let a = 0; a < attackers.length; a++) events.push(securityEvent(h.projectId, { client_ip: attackers[a], timestamp_ms: T0 + k * 20_000 + a * 100 }));
  }
  // Produced over ten seconds while the workers are killed and restarted.
  const producing = (async () => {
    for (let k = 0; k < 10; k++) {
      await h.produceEvents(events.slice(k * attackers.length, (k + 1) * attackers.length));
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
  const killPoints = [60, 150, 240];
  let worker = h.spawn();
  for (const point of killPoints) {
    await waitFor(`${point} of ${events.length} applied`, async () => (await appliedInDatabase()) - start >= point, 120_000);
    await kill(worker);
    worker = h.spawn();
  }
  await producing;
  await waitFor('every login applied', async () => (await appliedInDatabase()) - start >= events.length, 120_000);
  await waitFor('an alert per attacker', () => watch.created().filter((a) => attackers.includes(a.group_values.client_ip ?? '')).length >= attackers.length, 60_000);
  await new Promise((r) => setTimeout(r, 1500));
  const created = watch.created().filter((a) => attackers.includes(a.group_values.client_ip ?? ''));
  assert.equal(created.length, attackers.length, 'one alert.created per attacker');
  assert.equal(new Set(created.map((a) => a.id)).size, attackers.length);
  assert.ok(created.every((a) => a.value === 10), 'no login counted twice');
  // Routing batches cut short by a kill are routed again: their entries are on the topic twice.
  const { rows } = await h.pool.query<{ n: number }>('select coalesce(sum(next_offset), 0)::int as n from rule_tasks');
  t.diagnostic(`re-partition messages: ${rows[0]!.n} in all (packed) for ${events.length} logins`);
  const stored = await listAlerts(h.pool, { organizationId: h.organizationId, limit: 200 });
  assert.equal(stored.filter((a) => attackers.includes(a.group_values.client_ip ?? '')).length, attackers.length);
  await kill(worker);
});
