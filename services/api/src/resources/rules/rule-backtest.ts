import { RuleProjectError } from '@vigil/db';
import type { Alert, RuleCounters } from '@vigil/rule-engine';
import { RuleValidationError } from '@vigil/rule-engine';
import { z } from 'zod';
import { ApiError, notFound } from '../../http/error-catalog';
import { timestamp } from '../resource-ids';
import { timeBound } from '../list-filters';
// The rules service's preview over stored data (services/rules/src/index.ts), imported by path because
// deployables are not linked as packages until the next install.
import { backtestStoredRule, StoredDataUnavailableError } from '../../../../rules/src/index';
import type { Pool } from '@vigil/db';

/**
 * Backtest ("test" / dry run): a rule run over the organization's stored events or flows of a past
 * range, exactly as the stream would run it, by the rules service's own code. Nothing is stored or
 * sent. Bounded: at most 31 days, `max_alerts` alerts, and `timeoutMs` of work.
 */
const MAX_RANGE_MS = 31 * 86_400_000;

export const backtestBody = z
  .strictObject({
    since: timeBound.meta({ description: 'Start of the range (event time, inclusive), RFC 3339.' }),
    until: timeBound.meta({ description: 'End of the range (exclusive); at most 31 days after since.' }),
    max_alerts: z.number().int().min(1).max(10_000).default(1000).meta({ description: 'Stop after this many alerts (then `truncated` is true).' }),
  })
  .meta({ id: 'BacktestRange' });

export const draftBacktestBody = backtestBody
  .extend({ rule: z.record(z.string(), z.unknown()).meta({ description: 'The rule to try, as for POST /v1/rules.' }) })
  .meta({ id: 'DraftBacktest' });

const int = z.number().int();

export const backtestResultSchema = z
  .object({
    since: timestamp,
    until: timestamp,
    records: int.meta({ description: 'Stored records read.' }),
    truncated: z.boolean(),
    counters: z.object({ offered: int, matched: int, alerts: int, suppressed: int, late: int, stale: int }),
    alerts: z.array(
      z.object({
        id: z.string(),
        project_id: int,
        severity: z.string(),
        title: z.string(),
        summary: z.string(),
        group_key: z.string(),
        group_values: z.record(z.string(), z.string()),
        window_start: timestamp,
        window_end: timestamp,
        value: z.number(),
        threshold: z.number(),
        first_seen: timestamp,
        last_seen: timestamp,
        detected_at: timestamp,
        evidence: z.unknown(),
        tags: z.array(z.string()),
      }),
    ),
  })
  .meta({ id: 'BacktestResult' });

export async function runBacktest(
  pool: Pool,
  organizationId: number,
  rule: unknown,
  range: z.output<typeof backtestBody>,
  timeoutMs: number,
): Promise<z.output<typeof backtestResultSchema>> {
  if (range.since >= range.until) throw new ApiError('validation_error', undefined, [{ field: 'until', message: 'must be after since' }]);
  if (range.until.getTime() - range.since.getTime() > MAX_RANGE_MS) throw new ApiError('validation_error', undefined, [{ field: 'until', message: 'the range is at most 31 days' }]);
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const result = await backtestStoredRule(pool, { organizationId, rule, since: range.since, until: range.until, maxAlerts: range.max_alerts, signal });
    return {
      since: range.since.toISOString(),
      until: range.until.toISOString(),
      records: result.records,
      truncated: result.truncated,
      counters: countersOf(result.counters),
      alerts: result.alerts.map(toPreviewAlert),
    };
  } catch (err) {
    if (err instanceof RuleValidationError) {
      throw new ApiError('validation_error', 'The rule is not valid; `details` names each problem.', err.issues.map((i) => ({ field: i.path ? `rule.${i.path}` : 'rule', message: i.message })));
    }
    if (err instanceof RuleProjectError) throw notFound(`project ${err.projectId}`);
    if (err instanceof StoredDataUnavailableError) throw new ApiError('service_unavailable', err.message);
    if (signal.aborted) throw new ApiError('service_unavailable', `The backtest did not finish within ${Math.round(timeoutMs / 1000)} s; try a shorter range.`);
    throw err;
  }
}

const countersOf = (c: RuleCounters) => ({ offered: c.offered, matched: c.matched, alerts: c.alerts, suppressed: c.suppressed, late: c.late, stale: c.stale });

function toPreviewAlert(a: Alert) {
  const t = (ms: number) => new Date(ms).toISOString();
  return {
    id: a.id,
    project_id: a.project_id,
    severity: a.severity,
    title: a.title,
    summary: a.summary,
    group_key: a.group_key,
    group_values: a.group_values,
    window_start: t(a.window_start_ms),
    window_end: t(a.window_end_ms),
    value: a.value,
    threshold: a.threshold,
    first_seen: t(a.first_seen_ms),
    last_seen: t(a.last_seen_ms),
    detected_at: t(a.detected_at_ms),
    evidence: a.evidence,
    tags: a.tags,
  };
}
