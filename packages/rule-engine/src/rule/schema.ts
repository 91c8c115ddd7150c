/**
 * What a valid rule is, and how JSON or YAML text becomes one. Every problem is reported with the
 * path of the offending value (`match.all[2].cidr`, `aggregate.group_by[1]`), ready for an API
 * error's `details: [{ field, message }]`.
 */
import { z } from 'zod';
import { parseAllDocuments, YAMLParseError } from 'yaml';
import { conditionSchema, forEachFieldTest, LIMITS, OPERATORS, TEXT_OPERATORS, treeSize } from './condition';
import type { Condition, FieldCondition, Operator } from './condition';
import { parseDuration } from './duration';
import { fieldPathProblem, isNumericField } from './fields';
import { protocolNumber } from '../match/literals';
import type { Source } from '../records';

export const MAX_GROUP_BY = 3;
const WINDOW_MIN_MS = 1_000;
const WINDOW_MAX_MS = 7 * 86_400_000;
const SUPPRESS_MAX_MS = 30 * 86_400_000;
const MAX_INPUT_DEPTH = 80;

const duration = z.string().refine((s) => parseDuration(s) !== null, { message: "expected a duration such as '30s', '5m', '1h', '1d'" });
const fieldList = z.array(z.string()).max(MAX_GROUP_BY, { message: `at most ${MAX_GROUP_BY} fields` });
const DISTINCT_OR_SUM = /^(distinct|sum)\(([^()]+)\)$/;

const aggregateSchema = z.strictObject({
  window: duration,
  group_by: fieldList.default([]),
  function: z.string().refine((f) => f === 'count' || f === 'distinct' || f === 'sum' || DISTINCT_OR_SUM.test(f), {
    message: "expected 'count', 'distinct', 'sum', 'distinct(<field>)' or 'sum(<field>)'",
  }),
  field: z.string().nullable().optional(),
  threshold: z.number().finite().positive(),
});

const suppressSchema = z.union([
  duration,
  z.strictObject({ duration, group_by: fieldList.default([]) }),
], { error: "expected a duration such as '1h', or { duration, group_by }" });

const ruleShape = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, { message: 'ids are 1-128 characters: letters, digits and . _ : - (not first)' }),
  name: z.string().min(1).max(200),
  description: z.string().max(10_000).default(''),
  project_id: z.number().int().positive().nullable(),
  source: z.enum(['events', 'flows']),
  severity: z.enum(['critical', 'high', 'medium', 'low', 'info']),
  tags: z.array(z.string().min(1).max(100)).max(50).default([]),
  enabled: z.boolean().default(true),
  version: z.number().int().min(1).default(1),
  match: conditionSchema,
  aggregate: aggregateSchema.nullable().optional(),
  suppress: suppressSchema.default('1h'),
});

export type AggregateFunction = 'count' | 'distinct' | 'sum';

export interface Aggregate {
  window: string;
  group_by: string[];
  function: AggregateFunction;
  /** The counted (distinct) or summed field; null for count. */
  field: string | null;
  threshold: number;
}

export interface Suppress {
  duration: string;
  /** For rules without aggregation: the fields whose values identify a group. */
  group_by: string[];
}

/** A validated rule in canonical form (aggregate null when absent, suppress as an object). */
export interface Rule {
  id: string;
  name: string;
  description: string;
  project_id: number | null;
  source: Source;
  severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
  tags: string[];
  enabled: boolean;
  version: number;
  match: Condition;
  aggregate: Aggregate | null;
  suppress: Suppress;
}

/** Anything `parseRule` accepts: the canonical form or the shorthands (`suppress: '1h'`, `function: 'distinct(dst_port)'`). */
export type RuleInput = z.input<typeof ruleShape>;

export interface RuleIssue { path: string; message: string }

export type ParseResult<T> = { ok: true; value: T } | { ok: false; issues: RuleIssue[] };

/** `['match', 'all', 2, 'cidr']` → `match.all[2].cidr`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out.length === 0 ? String(p) : `.${String(p)}`;
  }
  return out;
}

type Path = Array<string | number>;

function checkFieldTest(source: Source, t: FieldCondition, path: Path, add: (path: Path, message: string) => void): void {
  if (typeof t.field !== 'string') return;
  const problem = fieldPathProblem(source, t.field);
  if (problem !== null) {
    add([...path, 'field'], problem);
    return;
  }
  const ops = OPERATORS.filter((o) => t[o] !== undefined);
  if (ops.length !== 1) return;
  const op = ops[0] as Operator;
  if (!isNumericField(source, t.field)) return;
  if (op === 'cidr' || (TEXT_OPERATORS.has(op) && op !== 'eq' && op !== 'neq' && op !== 'in')) {
    add([...path, op], `'${t.field}' is a number; '${op}' applies to text and addresses`);
    return;
  }
  const literals: Array<[unknown, Path]> = op === 'in' ? (t.in ?? []).map((v, i) => [v, [...path, 'in', i]]) : [[t[op], [...path, op]]];
  for (const [v, p] of literals) {
    if (typeof v !== 'string') continue;
    const numeric = v.trim() !== '' && Number.isFinite(Number(v));
    if (!numeric && !(t.field === 'protocol' && protocolNumber(v) !== null)) add(p, `'${t.field}' is a number; '${v}' can never equal it`);
  }
}

function refineRule(r: z.output<typeof ruleShape>, ctx: z.RefinementCtx): void {
  const add = (path: Path, message: string) => ctx.addIssue({ code: 'custom', message, path });
  const size = treeSize(r.match);
  if (size.depth > LIMITS.depth) add(['match'], `conditions nest at most ${LIMITS.depth} deep (found ${size.depth})`);
  if (size.nodes > LIMITS.nodes) add(['match'], `at most ${LIMITS.nodes} conditions per rule (found ${size.nodes})`);
  forEachFieldTest(r.match, ['match'], (t, path) => checkFieldTest(r.source, t, path, add));
  const checkFields = (fields: string[], path: Path) => {
    fields.forEach((f, i) => {
      const problem = fieldPathProblem(r.source, f);
      if (problem !== null) add([...path, i], problem);
      else if (fields.indexOf(f) !== i) add([...path, i], `'${f}' is listed twice`);
    });
  };
  const suppressMs = parseDuration(typeof r.suppress === 'string' ? r.suppress : r.suppress.duration);
  if (suppressMs !== null && suppressMs > SUPPRESS_MAX_MS) add(typeof r.suppress === 'string' ? ['suppress'] : ['suppress', 'duration'], 'suppression is at most 30d');
  if (typeof r.suppress === 'object') {
    checkFields(r.suppress.group_by, ['suppress', 'group_by']);
    if (r.aggregate && r.suppress.group_by.length > 0) add(['suppress', 'group_by'], 'an aggregating rule is suppressed per aggregation group; set aggregate.group_by instead');
  }
  const a = r.aggregate;
  if (!a) return;
  const windowMs = parseDuration(a.window);
  if (windowMs !== null && (windowMs < WINDOW_MIN_MS || windowMs > WINDOW_MAX_MS || windowMs % 1_000 !== 0)) {
    add(['aggregate', 'window'], 'a window is a whole number of seconds between 1s and 7d');
  }
  checkFields(a.group_by, ['aggregate', 'group_by']);
  const short = DISTINCT_OR_SUM.exec(a.function);
  const fn = short ? short[1] : a.function;
  const field = short ? (short[2] as string).trim() : a.field ?? undefined;
  if (short && a.field != null) add(['aggregate', 'field'], `'field' is already given in '${a.function}'`);
  if (fn === 'count' && field !== undefined) add(['aggregate', 'field'], "'count' counts records; it takes no field");
  if (fn !== 'count') {
    if (field === undefined) add(['aggregate', 'field'], `'${fn}' needs a field`);
    else {
      const problem = fieldPathProblem(r.source, field);
      if (problem !== null) add(['aggregate', short ? 'function' : 'field'], problem);
    }
  }
  if (fn !== 'sum' && !Number.isInteger(a.threshold)) add(['aggregate', 'threshold'], `the threshold of '${fn}' is a whole number`);
}

function canonical(r: z.output<typeof ruleShape>): Rule {
  const a = r.aggregate;
  let aggregate: Aggregate | null = null;
  if (a) {
    const short = DISTINCT_OR_SUM.exec(a.function);
    aggregate = {
      window: a.window,
      group_by: a.group_by,
      function: (short ? short[1] : a.function) as AggregateFunction,
      field: short ? (short[2] as string).trim() : a.field ?? null,
      threshold: a.threshold,
    };
  }
  const suppress = typeof r.suppress === 'string' ? { duration: r.suppress, group_by: [] } : r.suppress;
  return { ...r, aggregate, suppress };
}

const ruleSchema = ruleShape.superRefine(refineRule).transform(canonical);

function valueAt(input: unknown, path: Path): unknown {
  let cur = input;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

function zodIssues(error: z.ZodError, prefix: Path, input: unknown): RuleIssue[] {
  const out: RuleIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...(issue.path as Path)];
    const missing = issue.code !== 'custom' && issue.code !== 'unrecognized_keys' && issue.path.length > 0 && valueAt(input, issue.path as Path) === undefined;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...path, key]), message: `unknown key '${key}'` });
    } else if (missing) {
      out.push({ path: formatPath(path), message: 'required' });
    } else {
      out.push({ path: formatPath(path), message: issue.message });
    }
  }
  return out;
}

function depthOf(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}

/** Validates an already-decoded value (e.g. a JSON body or a database row) as a rule. */
export function validateRule(value: unknown, prefix: Path = []): ParseResult<Rule> {
  if (depthOf(value, MAX_INPUT_DEPTH) > MAX_INPUT_DEPTH) return { ok: false, issues: [{ path: formatPath(prefix), message: `the rule nests deeper than ${MAX_INPUT_DEPTH} levels` }] };
  const result = ruleSchema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: zodIssues(result.error, prefix, value) };
}

function decodeText(text: string): ParseResult<unknown[]> {
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [];
  const issues: RuleIssue[] = [];
  for (const doc of list) {
    for (const err of doc.errors) {
      const where = err instanceof YAMLParseError && err.linePos ? `line ${err.linePos[0].line}, column ${err.linePos[0].col}: ` : '';
      issues.push({ path: '', message: `${where}${err.message.split('\n')[0] ?? err.message}` });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  try {
    return { ok: true, value: list.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown) };
  } catch (err) {
    return { ok: false, issues: [{ path: '', message: (err as Error).message }] };
  }
}

/**
 * One rule from JSON or YAML text (YAML is a superset of JSON), or from a decoded value.
 */
export function parseRule(input: unknown): ParseResult<Rule> {
  if (typeof input !== 'string') return validateRule(input);
  const decoded = decodeText(input);
  if (!decoded.ok) return decoded;
  if (decoded.value.length !== 1) return { ok: false, issues: [{ path: '', message: `expected one rule document, found ${decoded.value.length}` }] };
  return validateRule(decoded.value[0]);
}

/**
 * Several rules: a JSON/YAML list, an object `{ rules: [...] }`, or YAML documents separated by
 * `---`. Paths are prefixed with the rule's position (`[3].match.any[0].field`). Ids must be unique.
 */
export function parseRules(input: unknown): ParseResult<Rule[]> {
  let items: unknown[];
  let prefix: string | null = null;
  if (typeof input === 'string') {
    const decoded = decodeText(input);
    if (!decoded.ok) return decoded;
    const docs = decoded.value;
    items = docs.length === 1 ? asList(docs[0]) ?? docs : docs;
    if (docs.length === 1 && isRulesObject(docs[0])) prefix = 'rules';
  } else {
    const list = asList(input);
    if (list === null) return { ok: false, issues: [{ path: '', message: 'expected a list of rules or { rules: [...] }' }] };
    items = list;
    if (isRulesObject(input)) prefix = 'rules';
  }
  const rules: Rule[] = [];
  const issues: RuleIssue[] = [];
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const at: Path = prefix === null ? [i] : [prefix, i];
    const r = validateRule(item, at);
    if (!r.ok) {
      issues.push(...r.issues);
      return;
    }
    const first = seen.get(r.value.id);
    if (first !== undefined) issues.push({ path: formatPath([...at, 'id']), message: `id '${r.value.id}' is also used by rule ${first}` });
    seen.set(r.value.id, i);
    rules.push(r.value);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, value: rules };
}

function isRulesObject(v: unknown): v is { rules: unknown[] } {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Array.isArray((v as { rules?: unknown }).rules);
}

function asList(v: unknown): unknown[] | null {
  if (Array.isArray(v)) return v;
  if (isRulesObject(v)) return v.rules;
  return null;
}

/** Thrown when a rule handed to the engine does not validate. */
export class RuleValidationError extends Error {
  readonly issues: RuleIssue[];
  constructor(ruleId: string, issues: RuleIssue[]) {
    super(`rule '${ruleId}' is invalid: ${issues.map((i) => `${i.path || '(rule)'}: ${i.message}`).join('; ')}`);
    this.name = 'RuleValidationError';
    this.issues = issues;
  }
}
