/**
 * The shape of a rule's `match`: a tree of field tests combined with `all`, `any` and `not`.
 *
 *   { "field": "type", "eq": "auth.login_failed" }
 *   { "all": [ …conditions ] }   every child matches
 *   { "any": [ …conditions ] }   at least one child matches
 *   { "not": condition }          the child does not match
 *
 * A field test names one field and exactly one operator. Text operators (eq, neq, in, contains,
 * startswith, endswith, regex) ignore case unless `"case_sensitive": true`.
 */
import { z } from 'zod';
import { parseNetwork } from '../match/cidr';

export type Scalar = string | number | boolean | null;
export type TextList = string | string[];

export interface FieldCondition {
  field: string;
  eq?: Scalar;
  neq?: Scalar;
  in?: Scalar[];
  contains?: TextList;
  startswith?: TextList;
  endswith?: TextList;
  regex?: string;
  cidr?: TextList;
  lt?: number;
  lte?: number;
  gt?: number;
  gte?: number;
  exists?: boolean;
  case_sensitive?: boolean;
}
export interface AllCondition { all: Condition[] }
export interface AnyCondition { any: Condition[] }
export interface NotCondition { not: Condition }
export type Condition = FieldCondition | AllCondition | AnyCondition | NotCondition;

export const OPERATORS = ['eq', 'neq', 'in', 'contains', 'startswith', 'endswith', 'regex', 'cidr', 'lt', 'lte', 'gt', 'gte', 'exists'] as const;
export type Operator = (typeof OPERATORS)[number];
export const TEXT_OPERATORS: ReadonlySet<Operator> = new Set(['eq', 'neq', 'in', 'contains', 'startswith', 'endswith', 'regex']);

/** Limits that keep one rule from costing the engine unbounded memory or time. */
export const LIMITS = { depth: 32, nodes: 2_000, inValues: 10_000, textValues: 1_000, cidrs: 100_000, regexLength: 1_000 } as const;

const scalar = z.union([z.string(), z.number().finite(), z.boolean(), z.null()], {
  error: 'expected a string, number, boolean or null',
});
const textList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1).max(LIMITS.textValues)], {
  error: `expected a non-empty string or a list of 1 to ${LIMITS.textValues} non-empty strings`,
});
const cidrList = z.union([z.string(), z.array(z.string()).min(1).max(LIMITS.cidrs)], {
  error: `expected a network ('10.0.0.0/8', '2001:db8::/32') or a list of 1 to ${LIMITS.cidrs}`,
});
const combinatorKeys = ['all', 'any', 'not'] as const;

const rawCondition = z.strictObject({
  field: z.string().optional(),
  eq: scalar.optional(),
  neq: scalar.optional(),
  in: z.array(scalar).min(1).max(LIMITS.inValues).optional(),
  contains: textList.optional(),
  startswith: textList.optional(),
  endswith: textList.optional(),
  regex: z.string().min(1).max(LIMITS.regexLength).optional(),
  cidr: cidrList.optional(),
  lt: z.number().finite().optional(),
  lte: z.number().finite().optional(),
  gt: z.number().finite().optional(),
  gte: z.number().finite().optional(),
  exists: z.boolean().optional(),
  case_sensitive: z.boolean().optional(),
  get all() { return z.array(conditionSchema).min(1).optional(); },
  get any() { return z.array(conditionSchema).min(1).optional(); },
  get not() { return conditionSchema.optional(); },
});

function checkShape(c: Record<string, unknown>, ctx: z.RefinementCtx): void {
  const ops = OPERATORS.filter((op) => c[op] !== undefined);
  const combinators = combinatorKeys.filter((k) => c[k] !== undefined);
  const hasField = c.field !== undefined;
  if (combinators.length > 0 && (hasField || ops.length > 0 || combinators.length > 1)) {
    ctx.addIssue({ code: 'custom', message: "a condition is one of: a field test, 'all', 'any' or 'not' — wrap several in 'all'", path: [] });
    return;
  }
  if (combinators.length > 0) {
    if (c.case_sensitive !== undefined) ctx.addIssue({ code: 'custom', message: "'case_sensitive' belongs on a field test", path: ['case_sensitive'] });
    return;
  }
  if (!hasField) {
    ctx.addIssue({ code: 'custom', message: ops.length > 0 ? `'${ops[0]}' needs a 'field'` : "a condition needs 'field' and one operator, or one of 'all', 'any', 'not'", path: ops.length > 0 ? ['field'] : [] });
    return;
  }
  if (ops.length === 0) {
    ctx.addIssue({ code: 'custom', message: `a field test needs one operator: ${OPERATORS.join(', ')}`, path: [] });
    return;
  }
  if (ops.length > 1) {
    ctx.addIssue({ code: 'custom', message: `one operator per field test (found ${ops.join(', ')}); combine several with 'all'`, path: [ops[1] as string] });
    return;
  }
  const op = ops[0] as Operator;
  if (c.case_sensitive !== undefined && !TEXT_OPERATORS.has(op)) {
    ctx.addIssue({ code: 'custom', message: `'case_sensitive' applies to text operators (${[...TEXT_OPERATORS].join(', ')}), not '${op}'`, path: ['case_sensitive'] });
  }
  if (op === 'regex') {
    try {
      new RegExp(c.regex as string);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}`, path: ['regex'] });
    }
  }
  if (op === 'cidr') {
    const list = c.cidr as TextList;
    if (typeof list === 'string') {
      if (parseNetwork(list) === null) ctx.addIssue({ code: 'custom', message: `'${list}' is not an IPv4 or IPv6 network`, path: ['cidr'] });
    } else {
      list.forEach((n, i) => {
        if (parseNetwork(n) === null) ctx.addIssue({ code: 'custom', message: `'${n}' is not an IPv4 or IPv6 network`, path: ['cidr', i] });
      });
    }
  }
}

export const conditionSchema: z.ZodType<Condition> = rawCondition.superRefine(checkShape) as unknown as z.ZodType<Condition>;

export function isAll(c: Condition): c is AllCondition { return (c as AllCondition).all !== undefined; }
export function isAny(c: Condition): c is AnyCondition { return (c as AnyCondition).any !== undefined; }
export function isNot(c: Condition): c is NotCondition { return (c as NotCondition).not !== undefined; }

/** The single operator of a validated field test. */
export function operatorOf(c: FieldCondition): Operator {
  for (const op of OPERATORS) if (c[op] !== undefined) return op;
  throw new Error(`condition on '${c.field}' has no operator`);
}

/** Visits every field test with its path below the condition (for rule-level checks). */
export function forEachFieldTest(c: Condition, path: Array<string | number>, visit: (test: FieldCondition, path: Array<string | number>, depth: number) => void, depth = 1): void {
  if (isAll(c)) c.all.forEach((child, i) => forEachFieldTest(child, [...path, 'all', i], visit, depth + 1));
  else if (isAny(c)) c.any.forEach((child, i) => forEachFieldTest(child, [...path, 'any', i], visit, depth + 1));
  else if (isNot(c)) forEachFieldTest(c.not, [...path, 'not'], visit, depth + 1);
  else visit(c, path, depth);
}

/** Depth and node count of a condition tree. */
export function treeSize(c: Condition): { depth: number; nodes: number } {
  if (isAll(c) || isAny(c)) {
    const children = (isAll(c) ? c.all : c.any).map(treeSize);
    return { depth: 1 + Math.max(...children.map((s) => s.depth)), nodes: 1 + children.reduce((n, s) => n + s.nodes, 0) };
  }
  if (isNot(c)) {
    const s = treeSize(c.not);
    return { depth: s.depth + 1, nodes: s.nodes + 1 };
  }
  return { depth: 1, nodes: 1 };
}
