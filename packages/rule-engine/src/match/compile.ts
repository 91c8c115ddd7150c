/**
 * A rule becomes closures once, when it is loaded: the match tree turns into nested predicates
 * (cheapest tests first), group-by fields into getters, the window into its bucket geometry, and
 * the equality tests every match requires into a route for the router. Nothing walks the rule
 * tree per record.
 */
import { createHash } from 'node:crypto';
import { isAll, isAny, isNot, operatorOf } from '../rule/condition';
import type { Condition, FieldCondition, Scalar } from '../rule/condition';
import { parseDuration } from '../rule/duration';
import { compileGetter, SCALAR_TOP_LEVEL } from '../rule/fields';
import type { Getter } from '../rule/fields';
import { asNumber, protocolNumber } from './literals';
import { compileFieldTest, fieldTestCost } from './operators';
import type { Predicate } from './operators';
import type { Source } from '../records';
import { RuleValidationError, validateRule } from '../rule/schema';
import type { AggregateFunction, Rule } from '../rule/schema';
import { windowGeometry } from '../stream/window';
import type { WindowGeometry } from '../stream/window';

/** Index keys a record must produce at `field` for the rule to possibly match. */
export interface Route {
  field: string;
  keys: Array<string | number>;
}

export interface CompiledAggregate {
  fn: AggregateFunction;
  /** Reads the distinct value or the summand; null for count. */
  value: Getter | null;
  threshold: number;
  geometry: WindowGeometry;
}

export interface CompiledRule {
  readonly rule: Rule;
  readonly source: Source;
  readonly matches: Predicate;
  readonly route: Route | null;
  readonly groupBy: readonly string[];
  readonly groupGetters: readonly Getter[];
  readonly aggregate: CompiledAggregate | null;
  readonly suppressMs: number;
  /** Changes exactly when state kept for the rule would no longer mean the same thing. */
  readonly stateSignature: string;
}

interface Compiled { test: Predicate; cost: number }

function compileTree(c: Condition): Compiled {
  if (isNot(c)) {
    const inner = compileTree(c.not);
    const t = inner.test;
    return { test: (r) => !t(r), cost: inner.cost };
  }
  if (isAll(c) || isAny(c)) {
    const children = (isAll(c) ? c.all : c.any).map(compileTree).sort((a, b) => a.cost - b.cost);
    const cost = children.reduce((n, ch) => n + ch.cost, 0);
    const tests = children.map((ch) => ch.test);
    return { test: isAll(c) ? allOf(tests) : anyOf(tests), cost };
  }
  return { test: compileFieldTest(c), cost: fieldTestCost(c) };
}

function allOf(tests: Predicate[]): Predicate {
  const [a, b, c] = tests as [Predicate, Predicate, Predicate];
  switch (tests.length) {
    case 1: return a;
    case 2: return (r) => a(r) && b(r);
    case 3: return (r) => a(r) && b(r) && c(r);
    default: return (r) => {
      for (const t of tests) if (!t(r)) return false;
      return true;
    };
  }
}

function anyOf(tests: Predicate[]): Predicate {
  const [a, b, c] = tests as [Predicate, Predicate, Predicate];
  switch (tests.length) {
    case 1: return a;
    case 2: return (r) => a(r) || b(r);
    case 3: return (r) => a(r) || b(r) || c(r);
    default: return (r) => {
      for (const t of tests) if (t(r)) return true;
      return false;
    };
  }
}

/** Most selective first: fields whose equality narrows the stream most. */
const ROUTE_PREFERENCE: Record<Source, readonly string[]> = {
  events: ['type', 'exception_type', 'class', 'environment', 'platform', 'sdk_name', 'release', 'severity', 'source'],
  flows: ['dst_port', 'src_port', 'protocol', 'exporter', 'ip_version'],
};

function preference(source: Source, field: string): number {
  const i = ROUTE_PREFERENCE[source].indexOf(field);
  return i >= 0 ? i : ROUTE_PREFERENCE[source].length;
}

/** The keys under which the router files a literal (see `routeKeys` in routing.ts for records). */
export function literalKeys(v: Scalar, field: string): Array<string | number> | null {
  if (v === null) return null;
  if (typeof v === 'boolean') return [String(v)];
  if (typeof v === 'number') return [v, String(v)];
  const keys: Array<string | number> = [v.toLowerCase()];
  const n = asNumber(v);
  if (Number.isFinite(n)) keys.push(n);
  if (field === 'protocol') {
    const p = protocolNumber(v);
    if (p !== null) keys.push(p);
  }
  return keys;
}

function leafRoute(source: Source, t: FieldCondition): Route | null {
  if (!SCALAR_TOP_LEVEL[source].has(t.field)) return null;
  const op = operatorOf(t);
  const values = op === 'eq' ? [t.eq as Scalar] : op === 'in' ? (t.in as Scalar[]) : null;
  if (values === null) return null;
  const keys = new Set<string | number>();
  for (const v of values) {
    const k = literalKeys(v, t.field);
    if (k === null) return null;
    for (const key of k) keys.add(key);
  }
  return { field: t.field, keys: [...keys] };
}

function better(source: Source, a: Route, b: Route): Route {
  const pa = preference(source, a.field);
  const pb = preference(source, b.field);
  if (pa !== pb) return pa < pb ? a : b;
  return a.keys.length <= b.keys.length ? a : b;
}

/** An equality every match of `c` satisfies, or null when there is none to index on. */
export function requiredRoute(source: Source, c: Condition): Route | null {
  if (isNot(c)) return null;
  if (isAll(c)) {
    let best: Route | null = null;
    for (const child of c.all) {
      const r = requiredRoute(source, child);
      if (r !== null) best = best === null ? r : better(source, best, r);
    }
    return best;
  }
  if (isAny(c)) {
    const routes = c.any.map((child) => requiredRoute(source, child));
    const first = routes[0];
    if (!first || routes.some((r) => r === null || r.field !== first.field)) return null;
    return { field: first.field, keys: [...new Set(routes.flatMap((r) => (r as Route).keys))] };
  }
  return leafRoute(source, c);
}

function stableJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  const entries = Object.entries(v).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableJson(x)}`).join(',')}}`;
}

/**
 * Compilations by the rule object they were made from, and fingerprints by compiled rule. A service
 * that runs one engine per partition and organization loads the same rule objects into each: they
 * are validated and compiled once, not once per engine (a compiled rule holds no state; state and
 * counters live in the engine). Rules are values: an object is never changed after it is loaded.
 */
const compiledByInput = new WeakMap<object, CompiledRule>();
const fingerprints = new WeakMap<object, string>();

/** Canonical JSON of a rule, for telling an edited rule from an unchanged one. */
export function ruleFingerprint(rule: Rule): string {
  let fingerprint = fingerprints.get(rule);
  if (fingerprint === undefined) {
    fingerprint = stableJson(rule);
    fingerprints.set(rule, fingerprint);
  }
  return fingerprint;
}

/** Validates (again — rules may come from anywhere) and compiles one rule; the same object compiles once. */
export function compileRule(input: Rule): CompiledRule {
  const cached = input !== null && typeof input === 'object' ? compiledByInput.get(input) : undefined;
  if (cached !== undefined) return cached;
  const compiled = compileUncached(input);
  compiledByInput.set(input, compiled);
  return compiled;
}

function compileUncached(input: Rule): CompiledRule {
  const parsed = validateRule(input);
  if (!parsed.ok) throw new RuleValidationError(String((input as { id?: unknown })?.id ?? '?'), parsed.issues);
  const rule = parsed.value;
  const a = rule.aggregate;
  const groupBy = a ? a.group_by : rule.suppress.group_by;
  const aggregate: CompiledAggregate | null = a
    ? {
        fn: a.function,
        value: a.field === null ? null : compileGetter(a.field),
        threshold: a.threshold,
        geometry: windowGeometry(parseDuration(a.window) as number),
      }
    : null;
  const stateSignature = createHash('sha256').update(stableJson({
    source: rule.source,
    project_id: rule.project_id,
    match: rule.match,
    aggregate: a ? { window: a.window, group_by: a.group_by, function: a.function, field: a.field } : null,
    group_by: groupBy,
  })).digest('hex').slice(0, 16);
  return {
    rule,
    source: rule.source,
    matches: compileTree(rule.match).test,
    route: requiredRoute(rule.source, rule.match),
    groupBy,
    groupGetters: groupBy.map(compileGetter),
    aggregate,
    suppressMs: parseDuration(rule.suppress.duration) as number,
    stateSignature,
  };
}
