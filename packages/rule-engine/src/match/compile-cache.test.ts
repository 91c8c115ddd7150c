import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEngine } from '../stream/engine';
import { event, rule, T0 } from '../testing/fixtures';
import { compileRule, ruleFingerprint } from './compile';

const bruteForce = rule({
  id: 'bf', name: 'Brute force', project_id: 1, source: 'events', severity: 'high',
  match: { field: 'type', eq: 'auth.login_failed' },
  aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 3 },
});

describe('compiling a rule once for every engine that loads it', () => {
  it('the same rule object compiles once; an equal but distinct object compiles again', () => {
    const a = compileRule(bruteForce);
    assert.equal(compileRule(bruteForce), a);
    const copy = compileRule({ ...bruteForce });
    assert.notEqual(copy, a);
    assert.equal(ruleFingerprint(copy.rule), ruleFingerprint(a.rule));
    assert.equal(copy.stateSignature, a.stateSignature);
  });

  it('engines sharing a compiled rule keep their own state and counters', () => {
    const one = createEngine();
    const two = createEngine();
    one.load([bruteForce]);
    two.load([bruteForce]);
    const login = (i: number) => event({ timestamp_ms: T0 + i * 1000, client_ip: '192.0.2.1' });
    assert.equal(one.processEvent(login(0)).length + one.processEvent(login(1)).length, 0);
    assert.equal(two.processEvent(login(0)).length, 0);
    assert.equal(one.processEvent(login(2)).length, 1);
    assert.equal(two.processEvent(login(1)).length, 0, 'the other engine has seen two logins, not four');
    assert.equal(one.rules()[0]?.counters.matched, 3);
    assert.equal(two.rules()[0]?.counters.matched, 2);
  });

  it('an invalid rule is refused every time it is loaded', () => {
    const broken = { ...bruteForce, aggregate: { ...bruteForce.aggregate!, threshold: -1 } };
    assert.throws(() => compileRule(broken));
    assert.throws(() => compileRule(broken));
    assert.equal(createEngine().load([broken]).rejected.length, 1);
  });
});
