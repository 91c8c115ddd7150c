/**
 * Rule changes take effect without a restart, within 5 seconds: a changed match changes which
 * records alert, a raised threshold or a new name keeps the half-reached count, a disabled rule
 * stops, and every alert records the version of the rule that raised it.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rulesRevision } from '@vigil/db';
import type { RunningRules } from './rules-service';
import { createHarness, securityEvent, settle, waitFor, type AlertWatch, type Harness } from './testing/harness';

let h: Harness;
let watch: AlertWatch;
let worker: RunningRules;
/** Input records produced so far (all read by the one worker). */
let produced = 0;

async function produce(events: Parameters<Harness['produceEvents']>[0]): Promise<void> {
  await h.produceEvents(events);
  produced += events.length;
}

before(async () => {
  h = await createHarness('rrl');
  watch = await h.watchAlerts();
  worker = await h.start();
});
after(() => h.close());

const single = (type: string) => ({
  id: 'sensitive-login',
  name: 'Sensitive login',
  project_id: h.projectId,
  source: 'events',
  severity: 'critical',
  match: { field: 'type', eq: type },
  suppress: '0s',
});

test('an edited match takes effect within 5 seconds, and the alerts carry the new version', async (t) => {
  await h.rule(single('auth.root_login'));
  await waitFor('the rule loaded', async () => worker.status().rulesRevision === (await rulesRevision(h.pool)));
  const before = securityEvent(h.projectId, { type: 'auth.root_login' });
  await produce([before]);
  const first = await waitFor('an alert for the root login', () => watch.created().find((a) => a.summary.includes(before.event_id)));
  assert.equal(first.rule_version, 1);

  // From the moment the edit commits, send an event of the new type every 200 ms until one alerts.
  const t0 = Date.now();
  await h.updateRule('sensitive-login', single('auth.sudo'));
  const sent = new Map<string, number>();
  let alerted: { sentAt: number; version: number } | undefined;
  while (alerted === undefined) {
    assert.ok(Date.now() - t0 < 30_000, 'the edited rule never alerted');
    const e = securityEvent(h.projectId, { type: 'auth.sudo' });
    sent.set(e.event_id, Date.now());
    await produce([e]);
    await new Promise((r) => setTimeout(r, 200));
    for (const a of watch.created()) {
      for (const [id, at] of sent) if (a.summary.includes(id)) alerted ??= { sentAt: at, version: a.rule_version };
    }
  }
  t.diagnostic(`first event of the new match that alerted was sent ${alerted.sentAt - t0} ms after the edit`);
  assert.ok(alerted.sentAt - t0 <= 5000, `the first matching event after the edit was sent ${alerted.sentAt - t0} ms after it`);
  assert.equal(alerted.version, 2);

  // The old match no longer alerts.
  const old = securityEvent(h.projectId, { type: 'auth.root_login' });
  const probe = securityEvent(h.projectId, { type: 'auth.sudo' });
  await produce([old, probe]);
  await waitFor('the probe event alerting', () => watch.created().some((a) => a.summary.includes(probe.event_id)));
  await settle(worker, produced);
  assert.ok(!watch.created().some((a) => a.summary.includes(old.event_id)));
});

test('raising a threshold keeps the count reached so far; disabling stops the rule', async () => {
  const brute = (threshold: number, name = 'Brute force') => ({
    id: 'brute',
    name,
    project_id: h.projectId,
    source: 'events',
    severity: 'high',
    match: { field: 'type', eq: 'auth.login_failed' },
    aggregate: { window: '10m', group_by: ['client_ip'], function: 'count', threshold },
  });
  await h.rule(brute(5));
  const revision = async () => waitFor('the rules reloaded', async () => worker.status().rulesRevision === (await rulesRevision(h.pool)));
  await revision();
  const t = Date.now() - 60_000;
  const ip = '192.0.2.10';
  await produce(Array.from({ length: 4 }, (_, i) => securityEvent(h.projectId, { client_ip: ip, timestamp_ms: t + i * 1000 })));
  await settle(worker, produced);

  await h.updateRule('brute', brute(6, 'Brute-force logins'));
  await revision();
  await produce([securityEvent(h.projectId, { client_ip: ip, timestamp_ms: t + 5000 })]);
  await settle(worker, produced);
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(!watch.created().some((a) => a.rule_id === 'brute'), 'five of six: no alert yet');
  await produce([securityEvent(h.projectId, { client_ip: ip, timestamp_ms: t + 6000 })]);
  const alert = await waitFor('the brute-force alert', () => watch.created().find((a) => a.rule_id === 'brute'));
  assert.equal(alert.value, 6);
  assert.equal(alert.threshold, 6);
  assert.equal(alert.rule_version, 2);
  assert.match(alert.title, /^Brute-force logins: client_ip=192\.0\.2\.10$/);

  await h.setEnabled('brute', false);
  await revision();
  const other = '192.0.2.11';
  await produce(Array.from({ length: 8 }, (_, i) => securityEvent(h.projectId, { client_ip: other, timestamp_ms: t + i * 1000 })));
  await settle(worker, produced);
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(!watch.created().some((a) => a.group_values.client_ip === other), 'a disabled rule raises nothing');
});
