/**
 * One field test → one predicate closure. Operators are applied to the value at the field path;
 * when that value is an array (e.g. `fingerprint`), the test matches if any element matches.
 * A missing or null value matches nothing except `exists: false`, `eq: null`, `in: [null, …]`
 * and `neq` (which is exactly `not eq`).
 */
import { compileCidrs } from './cidr';
import { operatorOf } from '../rule/condition';
import type { FieldCondition, Scalar, TextList } from '../rule/condition';
import { compileGetter } from '../rule/fields';
import { asNumber, equalsIgnoreCase, literalSet, lowerIfNeeded, scalarInSet } from './literals';

export type Predicate = (record: unknown) => boolean;
type ValueTest = (value: unknown) => boolean;

/** A test over one value, lifted so that an array value matches when any element does. */
function anyElement(test: ValueTest): ValueTest {
  return (v) => {
    if (test(v)) return true;
    if (!Array.isArray(v)) return false;
    for (const e of v) if (test(e)) return true;
    return false;
  };
}

function textOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

function equalityTest(values: readonly Scalar[], caseSensitive: boolean, field: string): ValueTest {
  const only = values.length === 1 ? values[0] : undefined;
  if (typeof only === 'string' && !Number.isFinite(asNumber(only)) && field !== 'protocol') {
    if (caseSensitive) return (v) => v === only || (typeof v === 'boolean' && String(v) === only);
    const lowered = only.toLowerCase();
    return (v) => (typeof v === 'string' ? equalsIgnoreCase(v, lowered) : typeof v === 'boolean' && String(v) === lowered);
  }
  if (typeof only === 'number') {
    const text = String(only);
    return (v) => v === only || (typeof v === 'string' && v === text);
  }
  const set = literalSet(values, caseSensitive, field);
  return (v) => scalarInSet(set, v);
}

function list(t: TextList): string[] {
  return typeof t === 'string' ? [t] : t;
}

type TextMatch = (haystack: string, needle: string) => boolean;

function textTest(needles: TextList, caseSensitive: boolean, match: TextMatch): ValueTest {
  const prepared = list(needles).map((n) => (caseSensitive ? n : n.toLowerCase()));
  if (prepared.length === 1) {
    const needle = prepared[0] as string;
    return (v) => {
      const s = textOf(v);
      return s !== null && match(caseSensitive ? s : lowerIfNeeded(s), needle);
    };
  }
  return (v) => {
    const raw = textOf(v);
    if (raw === null) return false;
    const s = caseSensitive ? raw : lowerIfNeeded(raw);
    for (const n of prepared) if (match(s, n)) return true;
    return false;
  };
}

const contains: TextMatch = (h, n) => h.includes(n);
const startsWith: TextMatch = (h, n) => h.startsWith(n);
const endsWith: TextMatch = (h, n) => h.endsWith(n);

function compareTest(op: 'lt' | 'lte' | 'gt' | 'gte', bound: number): ValueTest {
  switch (op) {
    case 'lt': return (v) => asNumber(v) < bound;
    case 'lte': return (v) => asNumber(v) <= bound;
    case 'gt': return (v) => asNumber(v) > bound;
    case 'gte': return (v) => asNumber(v) >= bound;
  }
}

function valueTest(t: FieldCondition): ValueTest {
  const op = operatorOf(t);
  const cs = t.case_sensitive === true;
  switch (op) {
    case 'eq': return anyElement(equalityTest([t.eq as Scalar], cs, t.field));
    case 'neq': {
      const eq = anyElement(equalityTest([t.neq as Scalar], cs, t.field));
      return (v) => !eq(v);
    }
    case 'in': return anyElement(equalityTest(t.in as Scalar[], cs, t.field));
    case 'contains': return anyElement(textTest(t.contains as TextList, cs, contains));
    case 'startswith': return anyElement(textTest(t.startswith as TextList, cs, startsWith));
    case 'endswith': return anyElement(textTest(t.endswith as TextList, cs, endsWith));
    case 'regex': {
      const re = new RegExp(t.regex as string, cs ? '' : 'i');
      return anyElement((v) => {
        const s = textOf(v);
        return s !== null && re.test(s);
      });
    }
    case 'cidr': {
      const inside = compileCidrs(list(t.cidr as TextList));
      return anyElement((v) => typeof v === 'string' && inside(v));
    }
    case 'lt': case 'lte': case 'gt': case 'gte':
      return anyElement(compareTest(op, t[op] as number));
    case 'exists':
      return t.exists === true ? (v) => v !== undefined && v !== null : (v) => v === undefined || v === null;
  }
}

/** Compiles a validated field test into a predicate over a whole record. */
export function compileFieldTest(t: FieldCondition): Predicate {
  const get = compileGetter(t.field);
  const test = valueTest(t);
  return (r) => test(get(r));
}

const OPERATOR_COST: Record<string, number> = {
  exists: 1, eq: 1, neq: 1, lt: 1, lte: 1, gt: 1, gte: 1, in: 2, startswith: 3, endswith: 3, contains: 4, cidr: 6, regex: 10,
};

/** A rough relative cost, used to evaluate cheap tests of an `all`/`any` first. */
export function fieldTestCost(t: FieldCondition): number {
  const depth = t.field.split('.').length - 1;
  const op = operatorOf(t);
  const values = op === 'in' ? (t.in as unknown[]).length : op === 'contains' || op === 'startswith' || op === 'endswith' ? list(t[op] as TextList).length : 1;
  return (OPERATOR_COST[op] ?? 5) + depth + (op === 'in' ? 0 : Math.min(values - 1, 20));
}
