import { parseRule, type Rule } from '@vigil/rule-engine';
import { RuleProjectError, type RuleDefinition } from '@vigil/db';
import { ApiError, notFound } from '../../http/error-catalog';

/**
 * A rule as the rule engine accepts it, or a 400 naming every problem (`match.all[2].cidr`). The
 * engine is the single judge of what a valid rule is; the API only maps its issues to error details.
 */
export function validRule(candidate: unknown): Rule {
  const parsed = parseRule(candidate);
  if (parsed.ok) return parsed.value;
  throw new ApiError(
    'validation_error',
    'The rule is not valid; `details` names each problem.',
    parsed.issues.map((issue) => ({ field: issue.path || 'rule', message: issue.message })),
  );
}

export const asDefinition = (rule: Rule): RuleDefinition => rule as unknown as RuleDefinition;

/** A project outside the organization, named by a rule, is "not found" like any other resource. */
export function projectNotFound(err: unknown): never {
  if (err instanceof RuleProjectError) throw notFound(`project ${err.projectId}`);
  throw err;
}
