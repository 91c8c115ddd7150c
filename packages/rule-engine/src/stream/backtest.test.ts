import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backtest } from './backtest';
import { createEngine } from './engine';
import { event, rule, T0 } from '../testing/fixtures';
import type { EventRecord } from '../records';
import { RuleValidationError } from '../rule/schema';

const r = rule({
  id: 'bf', name: 'Brute force', project_id: 1, source: 'events', severity: 'high',
  match: { field: 'type', eq: 'auth.login_failed' },
  aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 10 },
  suppress: '10m',
});

const history: EventRecord[] = Array.from({ length: 300 }, (_, i) => event({
  timestamp_ms: T0 + i * 5_000 - (i % 7) * 9_000,
  client_ip: ['10.0.0.1', '10.0.0.2', '10.0.0.3'][i % 3] as string,
  type: i % 5 === 0 ? 'auth.login_ok' : 'auth.login_failed',
}));

async function* slowly<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

describe('backtest', () => {
  it('returns exactly the alerts the stream raises for the same records', async () => {
    const engine = createEngine();
    engine.load([r]);
    const streamed = history.flatMap((e) => [...engine.processEvent(e)]);
    assert.ok(streamed.length >= 3, `${streamed.length} alerts`);
    const result = await backtest(r, slowly(history));
    assert.deepEqual(result.alerts, streamed);
    assert.equal(result.records, history.length);
    assert.equal(result.counters.matched, history.filter((e) => e.type === 'auth.login_failed').length);
    assert.equal(result.truncated, false);
  });

  it('previews disabled rules, honours engine options and stops at maxAlerts', async () => {
    const disabled = { ...r, enabled: false };
    const all = await backtest(disabled, history);
    assert.ok(all.alerts.length >= 3);
    const strict = await backtest(disabled, history, { allowedLatenessMs: 0 });
    assert.ok(strict.counters.late > 0);
    const capped = await backtest(disabled, history, { maxAlerts: 1 });
    assert.equal(capped.alerts.length, 1);
    assert.equal(capped.truncated, true);
    assert.deepEqual(capped.alerts[0], all.alerts[0]);
  });

  it('rejects an invalid rule and can be aborted', async () => {
    await assert.rejects(backtest({ ...r, match: { field: 'nope', eq: 1 } }, history), RuleValidationError);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(backtest(r, history, { signal: controller.signal }), { name: 'AbortError' });
  });
});
