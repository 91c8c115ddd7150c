import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { conditionArb, recordArb } from '../testing/arbitraries';
import { compileRule, requiredRoute } from './compile';
import type { CompiledRule } from './compile';
import type { Condition } from '../rule/condition';
import { event } from '../testing/fixtures';
import { Router } from './routing';

interface Entry { id: string; source: 'events' | 'flows'; projectId: number | null; route: CompiledRule['route']; compiled: CompiledRule }

function entry(id: string, match: Condition, projectId: number | null): Entry {
  const compiled = compileRule({
    id, name: id, description: '', project_id: projectId, source: 'events', severity: 'low', tags: [], enabled: true, version: 1,
    match, aggregate: null, suppress: { duration: '1h', group_by: [] },
  });
  return { id, source: 'events', projectId, route: compiled.route, compiled };
}

function offered(router: Router<Entry>, source: 'events' | 'flows', projectId: number, record: unknown): Entry[] {
  const lists: Array<readonly Entry[]> = [];
  const n = router.collect(source, projectId, record, lists);
  return lists.slice(0, n).flat();
}

describe('routing', () => {
  it('derives the equality every match requires', () => {
    assert.deepEqual(requiredRoute('events', { field: 'type', eq: 'Auth.X' }), { field: 'type', keys: ['auth.x'] });
    assert.deepEqual(requiredRoute('events', { all: [{ field: 'class', eq: 'security' }, { field: 'type', in: ['a', 'b'] }] }), { field: 'type', keys: ['a', 'b'] });
    assert.deepEqual(requiredRoute('events', { any: [{ field: 'type', eq: 'a' }, { all: [{ field: 'type', eq: 'b' }, { field: 'message', contains: 'x' }] }] }), { field: 'type', keys: ['a', 'b'] });
    assert.equal(requiredRoute('events', { any: [{ field: 'type', eq: 'a' }, { field: 'class', eq: 'audit' }] }), null);
    assert.equal(requiredRoute('events', { not: { field: 'type', eq: 'a' } }), null);
    assert.equal(requiredRoute('events', { field: 'type', in: ['a', null] }), null);
    assert.equal(requiredRoute('events', { field: 'tags.kind', eq: 'a' }), null);
    assert.deepEqual(requiredRoute('flows', { all: [{ field: 'protocol', eq: 'tcp' }, { field: 'dst_port', eq: 22 }] }), { field: 'dst_port', keys: [22, '22'] });
    assert.deepEqual(requiredRoute('flows', { field: 'protocol', in: ['tcp', 17] }), { field: 'protocol', keys: ['tcp', 6, 17, '17'] });
  });

  it('offers a record only the rules of its project, organization-wide rules and matching keys', () => {
    const rules = [
      entry('a', { field: 'type', eq: 'auth.login_failed' }, 1),
      entry('b', { field: 'type', eq: 'auth.login_failed' }, 2),
      entry('c', { field: 'type', eq: 'db.query' }, null),
      entry('d', { field: 'message', contains: 'x' }, null),
    ];
    const router = new Router(rules);
    assert.deepEqual(offered(router, 'events', 1, event({ type: 'AUTH.login_failed', project_id: 1 })).map((r) => r.id).sort(), ['a', 'd']);
    assert.deepEqual(offered(router, 'flows', 1, event({ project_id: 1 })), []);
  });

  it('never withholds a rule that matches, and offers each rule at most once', () => {
    const rules = fc.array(fc.tuple(conditionArb, fc.constantFrom(null, 1, 2)), { minLength: 1, maxLength: 12 });
    fc.assert(fc.property(rules, fc.array(recordArb, { minLength: 1, maxLength: 10 }), (specs, records) => {
      const entries = specs.map(([c, p], i) => entry(`r${i}`, c, p));
      const router = new Router(entries);
      for (const r of records) {
        const got = offered(router, 'events', r.project_id as number, r);
        assert.equal(new Set(got).size, got.length, 'offered twice');
        for (const e of entries) {
          const applies = e.projectId === null || e.projectId === r.project_id;
          if (applies && e.compiled.matches(r)) assert.ok(got.includes(e), `matching rule ${e.id} not offered`);
          if (!applies) assert.ok(!got.includes(e), `rule ${e.id} of another project offered`);
        }
      }
    }), { numRuns: 600 });
  });
});
