/**
 * Backtest (rule preview) over stored data: runs one rule, exactly as the stream would — same
 * compiled predicate, windows, lateness, suppression and alert ids (`backtest` of
 * @vigil/rule-engine) — over the organization's stored events or flows of a past time range, and
 * returns the alerts it would have raised. Nothing is written; disabled rules run too.
 *
 * Records are replayed in event-time order, so none is late; the range is of event time. A rule
 * of one project reads that project's records, an organization-wide rule those of every project
 * of the organization.
 */
import { RuleProjectError, type Queryable } from '@vigil/db';
import { backtest, parseRule, RuleValidationError, type BacktestOptions, type BacktestResult, type InputRecord, type Rule } from '@vigil/rule-engine';
import { storedEvents, storedFlows } from './stored-records';

export interface StoredBacktestInput extends BacktestOptions {
  organizationId: number;
  /** A rule in any form `parseRule` accepts (JSON value); validated here. */
  rule: unknown;
  since: Date;
  until: Date;
}

export interface StoredBacktestResult extends BacktestResult {
  rule: Rule;
}

/**
 * Throws RuleValidationError for an invalid rule, RuleProjectError for a project outside the
 * organization, StoredDataUnavailableError when the source is not stored in PostgreSQL.
 */
export async function backtestStoredRule(db: Queryable, input: StoredBacktestInput): Promise<StoredBacktestResult> {
  const { organizationId, rule: candidate, since, until, ...options } = input;
  const parsed = parseRule(candidate);
  if (!parsed.ok) throw new RuleValidationError(String((candidate as { id?: unknown } | null)?.id ?? ''), parsed.issues);
  const rule = parsed.value;
  const { rows } = await db.query<{ id: number }>(
    'select id from projects where organization_id = $1 and ($2::bigint is null or id = $2) order by id',
    [organizationId, rule.project_id],
  );
  if (rule.project_id !== null && rows.length === 0) throw new RuleProjectError(rule.project_id);
  const range = { projectIds: rows.map((r) => r.id), since, until };
  const records: AsyncIterable<InputRecord> = rule.source === 'events' ? storedEvents(db, range) : storedFlows(db, range);
  return { ...(await backtest(rule, records, options)), rule };
}
