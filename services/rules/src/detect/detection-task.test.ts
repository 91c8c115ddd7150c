import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseRule, type EventRecord, type Rule, type StateEntry } from '@vigil/rule-engine';
import type { RuleSet } from '../catalog/rule-catalog';
import type { Origin } from '../route/repartition-message';
import { DetectionTask } from './detection-task';
import type { StoredTask } from './task-store';

const ORG = 1;
const OTHER_ORG = 2;

function rule(input: object): Rule {
  const r = parseRule(input);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const brute = rule({
  id: 'brute',
  name: 'Brute force',
  project_id: null,
  source: 'events',
  severity: 'high',
  match: { field: 'type', eq: 'auth.login_failed' },
  aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 5 },
});
const rules = (byOrg: Array<[number, Rule[]]>): RuleSet => ({ revision: 1, byOrganization: new Map(byOrg), rejected: 0 });
const empty: StoredTask = { nextOffset: 0, origins: new Map(), entries: [] };

function login(i: number, ip: string, project = 10): EventRecord {
  return {
    event_id: i.toString(16).padStart(32, '0'), project_id: project, timestamp_ms: 1_700_000_000_000 + i * 1000, received_at_ms: 1_700_000_000_000 + i * 1000,
    source: 'native', class: 'security', severity: 'low', type: 'auth.login_failed', message: null, exception_type: null, exception_value: null,
    platform: null, release: null, environment: null, tags: {}, user: null, fingerprint: [], client_ip: ip, sdk_name: null, sdk_version: null, attributes: {},
  };
}
const origin = (offset: number, index = 0, partition = 0): Origin => ({ stream: `events:${partition}`, offset, index });

/** What PostgreSQL holds after writing the drained changes (later writes win, null deletes). */
function persist(store: Map<string, { organizationId: number; entry: StateEntry }>, task: DetectionTask): void {
  for (const c of task.drain()) {
    const key = `${c.organizationId}\u001f${c.key}`;
    if (c.value === null) store.delete(key);
    else store.set(key, { organizationId: c.organizationId, entry: { key: c.key, value: JSON.parse(c.value) as StateEntry['value'] } });
  }
}

test('a record routed twice is applied once: origins at or before the newest applied one of their stream are repeats', () => {
  const task = new DetectionTask(0, {}, empty, rules([[ORG, [brute]]]));
  assert.equal(task.isRepeat(origin(5, 0)), false);
  task.apply('events', ORG, ['brute'], login(5, '192.0.2.1'), origin(5, 1));
  assert.equal(task.isRepeat(origin(5, 0)), true);
  assert.equal(task.isRepeat(origin(5, 1)), true);
  assert.equal(task.isRepeat(origin(5, 2)), false);
  assert.equal(task.isRepeat(origin(4, 9)), true);
  assert.equal(task.isRepeat(origin(3, 0, 1)), false, 'another input partition is another stream');
});

test('organizations never see each other’s rules, and rules the worker does not run are reported', () => {
  const task = new DetectionTask(0, {}, empty, rules([[ORG, [brute]]]));
  let alerts = 0;
  for (let i = 0; i < 5; i++) alerts += task.apply('events', OTHER_ORG, ['brute'], login(i, '192.0.2.1'), origin(i)).alerts.length;
  assert.equal(alerts, 0);
  assert.equal(task.apply('events', OTHER_ORG, ['brute'], login(9, '192.0.2.1'), origin(9)).unknownRules, 1);
  for (let i = 10; i < 15; i++) alerts += task.apply('events', ORG, ['brute'], login(i, '192.0.2.1'), origin(i)).alerts.length;
  assert.equal(alerts, 1);
});

test('state written after every batch and restored into a new task continues exactly where it stopped', () => {
  const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3'];
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 80 }), fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 }), (who, batchSizes) => {
      const records = who.map((w, i) => login(i, ips[w]!));
      const baseline = new DetectionTask(0, {}, empty, rules([[ORG, [brute]]]));
      const expected = records.flatMap((r, i) => baseline.apply('events', ORG, ['brute'], r, origin(i)).alerts.map((a) => a.id));

      // Crash after every batch: a fresh task from what was stored takes over.
      const store = new Map<string, { organizationId: number; entry: StateEntry }>();
      const got: string[] = [];
      let i = 0;
      let b = 0;
      let task = new DetectionTask(0, {}, empty, rules([[ORG, [brute]]]));
      while (i < records.length) {
        const size = batchSizes[b++ % batchSizes.length]!;
        for (const end = Math.min(records.length, i + size); i < end; i++) {
          got.push(...task.apply('events', ORG, ['brute'], records[i]!, origin(i)).alerts.map((a) => a.id));
        }
        persist(store, task);
        task = new DetectionTask(0, {}, { nextOffset: i, origins: new Map(task.origins), entries: [...store.values()] }, rules([[ORG, [brute]]]));
      }
      assert.deepEqual(got, expected);
    }),
    { numRuns: 200 },
  );
});

test('a rule whose meaning changed starts afresh, and its stored state is deleted with the next write', () => {
  const store = new Map<string, { organizationId: number; entry: StateEntry }>();
  const task = new DetectionTask(0, {}, empty, rules([[ORG, [brute]]]));
  for (let i = 0; i < 4; i++) task.apply('events', ORG, ['brute'], login(i, '192.0.2.1'), origin(i));
  persist(store, task);
  assert.ok([...store.values()].some((e) => e.entry.value?.kind === 'group'));
  const wider = rule({ ...brute, aggregate: { ...brute.aggregate, window: '10m' } });
  const restored = new DetectionTask(0, {}, { nextOffset: 4, origins: new Map(), entries: [...store.values()] }, rules([[ORG, [wider]]]));
  persist(store, restored);
  assert.ok(![...store.values()].some((e) => e.entry.value?.kind === 'group'));
  let alerts = 0;
  for (let i = 4; i < 8; i++) alerts += restored.apply('events', ORG, ['brute'], login(i, '192.0.2.1'), origin(i)).alerts.length;
  assert.equal(alerts, 0, 'four new logins of the changed rule are not five');
});
