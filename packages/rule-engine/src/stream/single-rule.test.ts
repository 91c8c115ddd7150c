import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createEngine } from './engine';
import { event, rule, T0 } from '../testing/fixtures';
import type { EventRecord } from '../records';

const rules = [
  rule({ id: 'bf', name: 'Brute force', project_id: 1, source: 'events', severity: 'high', match: { field: 'type', eq: 'auth.login_failed' }, aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 4 } }),
  rule({ id: 'users', name: 'Many users', project_id: null, source: 'events', severity: 'medium', match: { field: 'class', eq: 'security' }, aggregate: { window: '5m', group_by: ['client_ip'], function: 'distinct', field: 'user.username', threshold: 3 } }),
  rule({ id: 'root', name: 'Root', project_id: 2, source: 'events', severity: 'critical', match: { field: 'user.username', eq: 'root' }, suppress: { duration: '1m', group_by: ['client_ip'] } }),
  rule({ id: 'off', name: 'Off', project_id: null, source: 'events', severity: 'low', enabled: false, match: { field: 'type', eq: 'auth.login_failed' } }),
  rule({ id: 'flows', name: 'Flows', project_id: null, source: 'flows', severity: 'low', match: { field: 'protocol', eq: 'tcp' } }),
];

const recordArb = fc.record({
  project: fc.constantFrom(1, 2, 3),
  type: fc.constantFrom('auth.login_failed', 'auth.login_ok'),
  ip: fc.constantFrom('192.0.2.1', '192.0.2.2'),
  user: fc.constantFrom('root', 'alice', 'bob', 'carol'),
  dt: fc.integer({ min: -30_000, max: 60_000 }),
});

describe('evaluating one named rule (a worker fed by a re-partitioned topic)', () => {
  it('gives exactly the alerts of routed evaluation when each record is offered to the rules groupsOf names', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 60 }), (specs) => {
        let t = T0;
        const records: EventRecord[] = specs.map((s, i) => {
          t += Math.max(0, s.dt);
          return event({ event_id: i.toString(16).padStart(32, '0'), project_id: s.project, type: s.type, client_ip: s.ip, user: { id: null, email: null, username: s.user, ip_address: null }, timestamp_ms: t + Math.min(0, s.dt) });
        });
        const routed = createEngine();
        routed.load(rules);
        const named = createEngine();
        named.load(rules);
        const router = createEngine();
        router.load(rules);
        const a = records.flatMap((r) => [...routed.processEvent(r)]);
        const b = records.flatMap((r) => router.groupsOf('events', r).flatMap((g) => [...named.process('events', r, g.rule_id)]));
        assert.deepEqual(b.map((x) => x.id).sort(), a.map((x) => x.id).sort());
      }),
      { numRuns: 300 },
    );
  });

  it('a rule that is unknown, disabled, of another source or of another project does not apply', () => {
    const e = createEngine();
    e.load(rules);
    const login = event({ project_id: 3, type: 'auth.login_failed', user: { id: null, email: null, username: 'root', ip_address: null } });
    for (const id of ['missing', 'off', 'flows', 'root', 'bf']) assert.deepEqual(e.process('events', login, id), [], id);
    assert.equal(e.stats().offered, 0);
    assert.equal(e.process('events', { ...login, project_id: 2 }, 'root').length, 1);
  });
});
