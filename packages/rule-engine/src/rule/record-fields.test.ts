import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compileRule } from '../match/compile';
import type { InputRecord, Source } from '../records';
import { createEngine } from '../stream/engine';
import { conditionArb, recordArb } from '../testing/arbitraries';
import { event, flow, rule, T0 } from '../testing/fixtures';
import { defaultRulePack } from './default-pack';
import { ENGINE_FIELDS, fieldsRead, ruleFields } from './record-fields';
import type { Rule } from './schema';

/** The record with only `fields` (as a projected decoder leaves it: the others missing). */
function project<T extends object>(record: T, fields: ReadonlySet<string>): T {
  return Object.fromEntries(Object.entries(record).filter(([k]) => fields.has(k))) as T;
}

test('a rule reads the top-level fields of its match, group-by, aggregated field and suppression group-by', () => {
  const r = rule({
    id: 'r', name: 'r', project_id: null, source: 'events', severity: 'low',
    match: { all: [{ field: 'type', eq: 'x' }, { not: { any: [{ field: 'tags.host', eq: 'a' }, { field: 'attributes.http.method', eq: 'GET' }] } }] },
    aggregate: { window: '5m', group_by: ['user.username'], function: 'distinct', field: 'client_ip', threshold: 3 },
  });
  assert.deepEqual([...ruleFields(r)].sort(), ['attributes', 'client_ip', 'tags', 'type', 'user']);
  const single = rule({ id: 's', name: 's', project_id: null, source: 'events', severity: 'low', match: { field: 'message', contains: 'x' }, suppress: { duration: '1h', group_by: ['release'] } });
  assert.deepEqual([...ruleFields(single)].sort(), ['message', 'release']);
  assert.deepEqual([...fieldsRead('events', [single])].sort(), [...ENGINE_FIELDS.events, 'message', 'release'].sort());
});

test('any match evaluates the same on a record projected to the fields its rule reads', () => {
  fc.assert(
    fc.property(conditionArb, recordArb, (match, record) => {
      const r = rule({ id: 'p', name: 'p', project_id: null, source: 'events', severity: 'low', match });
      const compiled = compileRule(r);
      assert.equal(compiled.matches(project(record, fieldsRead('events', [r]))), compiled.matches(record));
    }),
    { numRuns: 3000 },
  );
});

test('an engine fed projected records raises exactly the alerts it raises on whole records', () => {
  const eventRules: Rule[] = [
    rule({ id: 'brute', name: 'Brute', project_id: null, source: 'events', severity: 'high', match: { field: 'type', eq: 'auth.login_failed' }, aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 5 } }),
    rule({ id: 'users', name: 'Users', project_id: null, source: 'events', severity: 'high', match: { field: 'class', eq: 'security' }, aggregate: { window: '10m', group_by: ['client_ip'], function: 'distinct', field: 'user.username', threshold: 3 } }),
    rule({ id: 'root', name: 'Root', project_id: null, source: 'events', severity: 'low', match: { field: 'message', contains: 'root' }, suppress: { duration: '1m', group_by: ['tags.host'] } }),
  ];
  const flowRules = defaultRulePack({ projectId: null, blocklist: ['203.0.113.0/24'], thresholds: { portScan: 5, hostSweep: 5, outboundBytes: 10_000 } });
  const records: Array<[Source, InputRecord]> = [];
  for (let i = 0; i < 400; i++) {
    const t = T0 + i * 3_000;
    records.push(['events', event({
      timestamp_ms: t, received_at_ms: t, type: i % 3 === 0 ? 'auth.login_failed' : 'auth.login_ok', client_ip: `192.0.2.${i % 4}`,
      message: i % 7 === 0 ? 'root login' : 'ok', tags: { host: `h${i % 2}` }, user: { id: null, email: null, username: `u${i % 5}`, ip_address: null },
    })]);
    records.push(['flows', flow({ flow_end_ms: t, src_addr: `10.0.0.${i % 3}`, dst_addr: i % 11 === 0 ? '203.0.113.7' : `198.51.100.${i % 9}`, dst_port: 1 + (i % 40), src_port: 40_000 + i, bytes: 700 * i })]);
  }
  const run = (projected: boolean) => {
    const engine = createEngine();
    engine.load([...eventRules, ...flowRules]);
    const fields = { events: fieldsRead('events', eventRules), flows: fieldsRead('flows', flowRules) };
    return records.flatMap(([source, r]) => engine.process(source, projected ? project(r, fields[source]) : r));
  };
  const whole = run(false);
  assert.ok(new Set(whole.map((a) => a.rule_id)).size >= 5, `the records raise alerts of most rules (${whole.length} alerts)`);
  assert.deepEqual(run(true), whole);
});
