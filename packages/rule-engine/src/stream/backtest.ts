/**
 * Backtest (rule preview): run one rule over stored records exactly as the stream would — same
 * compiled predicate, windows, lateness, suppression and alert ids — and return the alerts it
 * would have raised. Nothing is written anywhere; the rule runs even if it is disabled.
 */
import type { Alert } from './alert';
import { RuleEngine } from './engine';
import type { EngineOptions } from './engine';
import type { RuleCounters } from './detect';
import type { InputRecord } from '../records';
import type { Rule } from '../rule/schema';
import { RuleValidationError } from '../rule/schema';

export interface BacktestOptions extends Omit<EngineOptions, 'trackChanges'> {
  /** Stop reading once this many alerts were raised (default 1,000); `truncated` then is true. */
  maxAlerts?: number;
  /** Abort between records. */
  signal?: AbortSignal;
}

export interface BacktestResult {
  alerts: Alert[];
  /** Records read from the input. */
  records: number;
  counters: RuleCounters;
  truncated: boolean;
}

/**
 * `records` must be of the rule's source, in the order the stream would have delivered them
 * (for stored data: ascending receive time, or event time). Throws `RuleValidationError` for an
 * invalid rule.
 */
export async function backtest(rule: Rule, records: AsyncIterable<InputRecord> | Iterable<InputRecord>, options: BacktestOptions = {}): Promise<BacktestResult> {
  const { maxAlerts = 1_000, signal, ...engineOptions } = options;
  const engine = new RuleEngine({ ...engineOptions, trackChanges: false });
  const report = engine.upsert({ ...rule, enabled: true });
  const rejected = report.rejected[0];
  if (rejected !== undefined) throw new RuleValidationError(rejected.id, rejected.issues);
  const alerts: Alert[] = [];
  let count = 0;
  let truncated = false;
  for await (const record of records) {
    signal?.throwIfAborted();
    count++;
    const raised = engine.process(rule.source, record);
    for (const a of raised) alerts.push(a);
    if (alerts.length >= maxAlerts) {
      truncated = true;
      alerts.length = maxAlerts;
      break;
    }
  }
  const status = engine.rules()[0];
  return { alerts, records: count, counters: status?.counters ?? { offered: 0, matched: 0, alerts: 0, suppressed: 0, late: 0, stale: 0 }, truncated };
}
