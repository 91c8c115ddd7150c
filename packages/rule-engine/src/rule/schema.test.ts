import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatPath, parseRule, parseRules } from './schema';
import type { RuleIssue } from './schema';

const base = {
  id: 'bf',
  name: 'Brute force',
  project_id: 7,
  source: 'events',
  severity: 'high',
  match: { field: 'type', eq: 'auth.login_failed' },
};

function issues(input: unknown): RuleIssue[] {
  const r = parseRule(input);
  assert.equal(r.ok, false, 'expected the rule to be rejected');
  return r.ok ? [] : r.issues;
}

function issueAt(input: unknown, path: string): string {
  const list = issues(input);
  const hit = list.find((i) => i.path === path);
  assert.ok(hit, `no issue at ${path}; got ${JSON.stringify(list)}`);
  return hit.message;
}

describe('rule schema', () => {
  it('fills defaults and canonicalises shorthands', () => {
    const r = parseRule({ ...base, aggregate: { window: '5m', function: 'distinct(dst_port)', threshold: 3 }, source: 'flows', match: { field: 'protocol', eq: 'tcp' } });
    assert.ok(r.ok);
    assert.deepEqual(r.value.aggregate, { window: '5m', group_by: [], function: 'distinct', field: 'dst_port', threshold: 3 });
    assert.deepEqual(r.value.suppress, { duration: '1h', group_by: [] });
    assert.equal(r.value.enabled, true);
    assert.equal(r.value.version, 1);
    assert.deepEqual(r.value.tags, []);
    assert.equal(r.value.description, '');
    const again = parseRule(JSON.parse(JSON.stringify(r.value)));
    assert.ok(again.ok, 'the canonical form parses again');
    assert.deepEqual(again.value, r.value);
  });

  it('accepts the same rule as JSON text and as YAML', () => {
    const json = parseRule(JSON.stringify({ ...base, aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 10 } }));
    const yaml = parseRule(`
id: bf
name: Brute force
project_id: 7
source: events
severity: high
match:
  field: type
  eq: auth.login_failed
aggregate:
  window: 5m
  group_by: [client_ip]
  function: count
  threshold: 10
`);
    assert.ok(json.ok && yaml.ok);
    assert.deepEqual(yaml.value, json.value);
  });

  it('names the path of every problem', () => {
    const bad = {
      ...base,
      match: {
        all: [
          { field: 'type', eq: 'x' },
          { field: 'tags.env', contains: [] },
          { field: 'client_ip', cidr: ['10.0.0.0/8', '10.0.0.0/33'] },
          { field: 'message', regex: '(' },
          { any: [{ field: 'user.nickname', eq: 'a' }, { not: { field: 'type', eq: 1, in: [1] } }] },
        ],
      },
    };
    const list = issues(bad);
    const paths = list.map((i) => i.path).sort();
    assert.deepEqual(paths, ['match.all[1].contains', 'match.all[2].cidr[1]', 'match.all[3].regex', 'match.all[4].any[0].field', 'match.all[4].any[1].not.in'].sort());
    assert.match(list.find((i) => i.path === 'match.all[4].any[0].field')?.message ?? '', /unknown user field 'nickname'/);
    const typed = issues({ ...bad, severity: 'urgent', aggregate: { window: 5, function: 'count', threshold: 'ten' } });
    assert.ok(['severity', 'aggregate.window', 'aggregate.threshold'].every((p) => typed.some((i) => i.path === p)), JSON.stringify(typed));
  });

  it('says which required keys are missing', () => {
    const list = issues({ id: 'x', match: { field: 'type', eq: 'a' } });
    assert.deepEqual(list.filter((i) => i.message === 'required').map((i) => i.path).sort(), ['name', 'project_id', 'severity', 'source']);
  });

  it('explains malformed conditions', () => {
    assert.match(issueAt({ ...base, match: { field: 'type' } }, 'match'), /needs one operator/);
    assert.match(issueAt({ ...base, match: { eq: 'x' } }, 'match.field'), /'eq' needs a 'field'/);
    assert.match(issueAt({ ...base, match: { all: [{ field: 'type', eq: 'x' }], field: 'type' } }, 'match'), /one of/);
    assert.match(issueAt({ ...base, match: { all: [] } }, 'match.all'), /at least 1|>=1|too small/i);
    assert.match(issueAt({ ...base, match: { field: 'type', eq: 'x', colour: 'red' } }, 'match.colour'), /unknown key 'colour'/);
    assert.match(issueAt({ ...base, match: { field: 'type', eq: { a: 1 } } }, 'match.eq'), /string, number, boolean or null/);
    assert.match(issueAt({ ...base, match: { field: 'timestamp_ms', lt: 'soon' } }, 'match.lt'), /number/);
    assert.match(issueAt({ ...base, match: { field: 'type', exists: true, case_sensitive: true } }, 'match.case_sensitive'), /text operators/);
  });

  it('checks fields against the source and operators against field types', () => {
    const flows = { ...base, source: 'flows' };
    assert.match(issueAt({ ...flows, match: { field: 'type', eq: 'x' } }, 'match.field'), /unknown flow field 'type'/);
    assert.match(issueAt({ ...flows, match: { field: 'dst_port', cidr: '10.0.0.0/8' } }, 'match.cidr'), /is a number/);
    assert.match(issueAt({ ...flows, match: { field: 'dst_port', contains: '80' } }, 'match.contains'), /is a number/);
    assert.match(issueAt({ ...flows, match: { field: 'protocol', in: ['tcp', 'carrier-pigeon'] } }, 'match.in[1]'), /can never equal/);
    assert.ok(parseRule({ ...flows, match: { field: 'protocol', in: ['tcp', '17', 1] } }).ok);
    assert.ok(parseRule({ ...base, match: { field: 'attributes.http.status', gte: 500 } }).ok);
    assert.ok(parseRule({ ...base, match: { field: 'tags.browser.name', eq: 'Chrome' } }).ok);
    assert.match(issueAt({ ...base, match: { field: 'attributes..x', exists: true } }, 'match.field'), /empty segment/);
    assert.match(issueAt({ ...base, match: { field: 'type.x', exists: true } }, 'match.field'), /no sub-fields/);
  });

  it('validates aggregation, windows and suppression', () => {
    const agg = (a: object) => ({ ...base, aggregate: { window: '5m', function: 'count', threshold: 10, ...a } });
    assert.match(issueAt(agg({ window: '5 minutes' }), 'aggregate.window'), /duration/);
    assert.match(issueAt(agg({ window: '1500ms' }), 'aggregate.window'), /whole number of seconds/);
    assert.match(issueAt(agg({ window: '8d' }), 'aggregate.window'), /7d/);
    assert.match(issueAt(agg({ group_by: ['a', 'b', 'c', 'd'] }), 'aggregate.group_by'), /at most 3/);
    assert.match(issueAt(agg({ group_by: ['client_ip', 'client_ip'] }), 'aggregate.group_by[1]'), /twice/);
    assert.match(issueAt(agg({ group_by: ['srcip'] }), 'aggregate.group_by[0]'), /unknown event field/);
    assert.match(issueAt(agg({ function: 'distinct' }), 'aggregate.field'), /needs a field/);
    assert.match(issueAt(agg({ function: 'count', field: 'type' }), 'aggregate.field'), /no field/);
    assert.match(issueAt(agg({ function: 'median' }), 'aggregate.function'), /expected 'count'/);
    assert.match(issueAt(agg({ function: 'sum(nope)' }), 'aggregate.function'), /unknown event field/);
    assert.match(issueAt(agg({ threshold: 2.5 }), 'aggregate.threshold'), /whole number/);
    assert.match(issueAt(agg({ threshold: 0 }), 'aggregate.threshold'), /0/);
    assert.ok(parseRule(agg({ function: 'sum', field: 'attributes.bytes', threshold: 2.5 })).ok);
    assert.match(issueAt({ ...base, suppress: '31d' }, 'suppress'), /30d/);
    assert.match(issueAt(agg({}) && { ...agg({}), suppress: { duration: '1h', group_by: ['client_ip'] } }, 'suppress.group_by'), /aggregate.group_by/);
    const single = parseRule({ ...base, suppress: { duration: '10m', group_by: ['client_ip'] } });
    assert.ok(single.ok);
    assert.deepEqual(single.value.suppress, { duration: '10m', group_by: ['client_ip'] });
    assert.ok(parseRule({ ...base, suppress: '0s' }).ok);
  });

  it('reports YAML syntax errors with their position', () => {
    const r = parseRule('id: x\nmatch: [unclosed\n');
    assert.equal(r.ok, false);
    assert.match(r.ok ? '' : (r.issues[0]?.message ?? ''), /line \d+, column \d+/);
  });

  it('rejects absurdly deep input before validating it', () => {
    let m: unknown = { field: 'type', eq: 'x' };
    for (let i = 0; i < 200; i++) m = { not: m };
    assert.match(issueAt({ ...base, match: m }, ''), /deeper/);
    let ok: unknown = { field: 'type', eq: 'x' };
    for (let i = 0; i < 20; i++) ok = { not: ok };
    assert.ok(parseRule({ ...base, match: ok }).ok);
  });

  it('parses rule lists, { rules } objects and YAML streams, with positions and unique ids', () => {
    const list = parseRules([base, { ...base, id: 'two' }]);
    assert.ok(list.ok && list.value.length === 2);
    const dup = parseRules({ rules: [base, { ...base, match: { field: 'nope', eq: 1 } }, base] });
    assert.equal(dup.ok, false);
    assert.deepEqual(dup.ok ? [] : dup.issues.map((i) => i.path), ['rules[1].match.field', 'rules[2].id']);
    const stream = parseRules(`${JSON.stringify(base)}\n---\n${JSON.stringify({ ...base, id: 'b2' })}\n`);
    assert.ok(stream.ok && stream.value.map((r) => r.id).join() === 'bf,b2');
  });

  it('never throws, whatever it is given', () => {
    const leafish = fc.record({
      field: fc.oneof(fc.constantFrom('type', 'dst_port', 'tags.x', 'user.id', 'attributes.a.b', 'nope'), fc.anything()),
      eq: fc.anything(), in: fc.anything(), cidr: fc.anything(), regex: fc.anything(), lt: fc.anything(), case_sensitive: fc.anything(),
    }, { requiredKeys: [] });
    const cond = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leafish, fc.record({ all: fc.array(tie('node'), { maxLength: 3 }) }),
        fc.record({ any: fc.oneof(fc.array(tie('node'), { maxLength: 3 }), fc.anything()) }), fc.record({ not: tie('node') }), fc.anything()),
    })).node;
    const ruleish = fc.record({
      id: fc.oneof(fc.constant('r1'), fc.anything()), name: fc.oneof(fc.constant('n'), fc.anything()),
      project_id: fc.oneof(fc.constant(null), fc.anything()), source: fc.oneof(fc.constantFrom('events', 'flows'), fc.anything()),
      severity: fc.constant('low'), match: cond,
      aggregate: fc.oneof(fc.anything(), fc.record({ window: fc.oneof(fc.constant('5m'), fc.anything()), group_by: fc.anything(), function: fc.oneof(fc.constantFrom('count', 'sum(bytes)', 'distinct'), fc.anything()), field: fc.anything(), threshold: fc.anything() }, { requiredKeys: [] })),
      suppress: fc.oneof(fc.constant('1h'), fc.anything(), fc.record({ duration: fc.anything(), group_by: fc.anything() }, { requiredKeys: [] })),
    }, { requiredKeys: [] });
    fc.assert(fc.property(ruleish, (input) => {
      const r = parseRule(input);
      if (!r.ok) assert.ok(r.issues.length > 0 && r.issues.every((i) => typeof i.path === 'string' && i.message.length > 0));
    }), { numRuns: 1_500 });
    fc.assert(fc.property(fc.string(), (text) => { parseRule(text); }), { numRuns: 300 });
  });

  it('formats paths the way API errors show them', () => {
    assert.equal(formatPath(['match', 'all', 2, 'cidr']), 'match.all[2].cidr');
    assert.equal(formatPath([3, 'id']), '[3].id');
    assert.equal(formatPath([]), '');
  });
});
