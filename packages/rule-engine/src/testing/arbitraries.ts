/**
 * fast-check generators of conditions and records for the property tests, and a deliberately
 * naive reference interpreter of the documented matching semantics to compare the compiled
 * closures against. Not part of the public API.
 */
import fc from 'fast-check';
import type { Condition, FieldCondition, Scalar } from '../rule/condition';

export const FIELDS = ['type', 'message', 'client_ip', 'fingerprint', 'tags.x', 'tags.a.b', 'tags.constructor', 'user.email', 'attributes.a.b', 'attributes.n', 'attributes.list.1', 'environment'] as const;

const words = ['auth.login_failed', 'Auth.Login_Failed', 'AUTH.LOGIN_FAILED', 'ärger', 'ÄRGER', 'İstanbul', 'i̇stanbul', 'x', '', 'true', 'True', '22', '22.0', ' 22', 'tcp', 'Kelvin', 'kelvin'];
const ips = ['10.0.0.1', '10.255.255.255', '11.0.0.1', '192.168.1.20', '::1', '2001:db8::5', '::ffff:10.0.0.9', 'not-an-ip'];

export const scalarValue: fc.Arbitrary<Scalar> = fc.oneof(
  fc.constantFrom(...words), fc.constantFrom(...ips), fc.integer({ min: -3, max: 30 }), fc.constantFrom(22, 0.5), fc.boolean(), fc.constant(null),
);

const recordValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: scalarValue },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.array(scalarValue, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('b', 'c'), scalarValue) },
);

export const recordArb: fc.Arbitrary<Record<string, unknown>> = fc.record({
  type: fc.constantFrom(...words), message: recordValue, client_ip: fc.oneof(fc.constantFrom(...ips), fc.constant(null)),
  project_id: fc.constantFrom(1, 2), fingerprint: fc.array(fc.constantFrom(...words), { maxLength: 3 }), environment: recordValue,
  tags: fc.record({ x: fc.constantFrom(...words), 'a.b': fc.constantFrom(...words) }, { requiredKeys: [] }),
  user: fc.oneof(fc.constant(null), fc.record({ email: recordValue })),
  attributes: fc.record({ a: fc.oneof(recordValue, fc.record({ b: recordValue })), n: recordValue, list: fc.array(scalarValue, { maxLength: 3 }) }, { requiredKeys: [] }),
});

const textList = fc.oneof(fc.constantFrom(...words.filter((w) => w !== '')), fc.array(fc.constantFrom(...words.filter((w) => w !== '')), { minLength: 1, maxLength: 3 }));

export const fieldTestArb: fc.Arbitrary<FieldCondition> = fc.tuple(fc.constantFrom(...FIELDS), fc.option(fc.boolean(), { nil: undefined })).chain(([field, cs]) => {
  const text = (op: string, v: fc.Arbitrary<unknown>) => v.map((x) => ({ field, [op]: x, ...(cs === undefined ? {} : { case_sensitive: cs }) }) as FieldCondition);
  const plain = (op: string, v: fc.Arbitrary<unknown>) => v.map((x) => ({ field, [op]: x }) as FieldCondition);
  return fc.oneof(
    text('eq', scalarValue), text('neq', scalarValue), text('in', fc.array(scalarValue, { minLength: 1, maxLength: 4 })),
    text('contains', textList), text('startswith', textList), text('endswith', textList),
    text('regex', fc.constantFrom('^auth\\.', 'FAILED$', '\\d+', 'ä|İ', '^$')),
    plain('cidr', fc.constantFrom('10.0.0.0/8', ['192.168.0.0/16', '::1/128'], ['::ffff:10.0.0.0/104'], '0.0.0.0/0')),
    plain('lt', fc.constantFrom(0, 22, 0.5)), plain('lte', fc.constantFrom(0, 22)), plain('gt', fc.constantFrom(-1, 21.5)), plain('gte', fc.constantFrom(22, 1)),
    plain('exists', fc.boolean()),
  );
});

export const conditionArb: fc.Arbitrary<Condition> = fc.letrec<{ node: Condition }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fieldTestArb,
    fc.array(tie('node'), { minLength: 1, maxLength: 4 }).map((all) => ({ all })),
    fc.array(tie('node'), { minLength: 1, maxLength: 4 }).map((any) => ({ any })),
    tie('node').map((not) => ({ not })),
  ),
})).node;

// ── reference semantics ──────────────────────────────────────────────────────────────────────

function own(o: unknown, k: string): unknown {
  return o !== null && typeof o === 'object' && Object.prototype.hasOwnProperty.call(o, k) ? (o as Record<string, unknown>)[k] : undefined;
}

export function referenceValue(record: unknown, path: string): unknown {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) return own(record, head as string);
  if (head === 'tags' || head === 'user') return own(own(record, head), rest.join('.'));
  let cur = own(record, head as string);
  for (const seg of rest) cur = own(cur, seg);
  return cur;
}

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132 };

function num(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}

function scalarEquals(v: unknown, lit: Scalar, cs: boolean, field: string): boolean {
  const fold = (s: string) => (cs ? s : s.toLowerCase());
  if (lit === null) return v === null || v === undefined;
  if (typeof v === 'string') return fold(v) === fold(String(lit));
  if (typeof v === 'number') {
    if (typeof lit === 'number') return v === lit;
    if (typeof lit === 'string') return num(lit) === v || (field === 'protocol' && PROTOCOLS[lit.toLowerCase()] === v);
    return false;
  }
  if (typeof v === 'boolean') return typeof lit !== 'number' && fold(String(v)) === fold(String(lit));
  return false;
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
}

function someElement(v: unknown, test: (x: unknown) => boolean): boolean {
  return test(v) || (Array.isArray(v) && v.some(test));
}

function referenceLeaf(t: FieldCondition, record: unknown, insideCidr: (net: string[], addr: string) => boolean): boolean {
  const v = referenceValue(record, t.field);
  const cs = t.case_sensitive === true;
  const fold = (s: string) => (cs ? s : s.toLowerCase());
  const list = (x: string | string[]) => (typeof x === 'string' ? [x] : x);
  if (t.eq !== undefined) return someElement(v, (x) => scalarEquals(x, t.eq as Scalar, cs, t.field));
  if (t.neq !== undefined) return !someElement(v, (x) => scalarEquals(x, t.neq as Scalar, cs, t.field));
  if (t.in !== undefined) return someElement(v, (x) => (t.in as Scalar[]).some((l) => scalarEquals(x, l, cs, t.field)));
  const textOp = (needles: string | string[], f: (h: string, n: string) => boolean) =>
    someElement(v, (x) => { const s = text(x); return s !== null && list(needles).some((n) => f(fold(s), fold(n))); });
  if (t.contains !== undefined) return textOp(t.contains, (h, n) => h.includes(n));
  if (t.startswith !== undefined) return textOp(t.startswith, (h, n) => h.startsWith(n));
  if (t.endswith !== undefined) return textOp(t.endswith, (h, n) => h.endsWith(n));
  if (t.regex !== undefined) return someElement(v, (x) => { const s = text(x); return s !== null && new RegExp(t.regex as string, cs ? '' : 'i').test(s); });
  if (t.cidr !== undefined) return someElement(v, (x) => typeof x === 'string' && insideCidr(list(t.cidr as string | string[]), x));
  if (t.lt !== undefined) return someElement(v, (x) => num(x) < (t.lt as number));
  if (t.lte !== undefined) return someElement(v, (x) => num(x) <= (t.lte as number));
  if (t.gt !== undefined) return someElement(v, (x) => num(x) > (t.gt as number));
  if (t.gte !== undefined) return someElement(v, (x) => num(x) >= (t.gte as number));
  return t.exists === true ? v !== undefined && v !== null : v === undefined || v === null;
}

/** Walks the tree on every call: the obvious, slow meaning of a condition. */
export function referenceMatch(c: Condition, record: unknown, insideCidr: (net: string[], addr: string) => boolean): boolean {
  if ('all' in c) return c.all.every((x) => referenceMatch(x, record, insideCidr));
  if ('any' in c) return c.any.some((x) => referenceMatch(x, record, insideCidr));
  if ('not' in c) return !referenceMatch(c.not, record, insideCidr);
  return referenceLeaf(c, record, insideCidr);
}
