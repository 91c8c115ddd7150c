/**
 * How a rule's literal compares with a record's value, shared by `eq`, `neq`, `in` and the router.
 *
 * - text compares with text, ignoring case unless the test is case-sensitive;
 * - a number compares with a number by value, and with text by its decimal spelling, so
 *   `dst_port eq "22"` and `attributes.code eq 22` both do what they say;
 * - a boolean compares as the text `true` / `false`;
 * - `null` matches a missing or null value;
 * - on the `protocol` flow field, the names tcp, udp, icmp, icmpv6, gre, esp, ah and sctp stand for
 *   their IANA numbers.
 */
import type { Scalar } from '../rule/condition';

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132 };

export function protocolNumber(name: string): number | null {
  return PROTOCOLS[name.toLowerCase()] ?? null;
}

/** Lower-cases `s` only when it holds a character that lower-casing could change. */
export function lowerIfNeeded(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c >= 128) return s.toLowerCase();
  }
  return s;
}

/**
 * Case-insensitive equality against an already lower-cased literal without allocating in the
 * common case. Only U+0130 (İ) changes length when lower-cased, so unequal lengths can only match
 * when the value holds it.
 */
export function equalsIgnoreCase(value: string, lowered: string): boolean {
  if (value.length !== lowered.length) {
    return value.length < lowered.length && value.indexOf('\u0130') >= 0 && value.toLowerCase() === lowered;
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const l = lowered.charCodeAt(i);
    if (c === l) continue;
    if (c >= 65 && c <= 90 && c + 32 === l) continue;
    if (c < 128) return false;
    return value.toLowerCase() === lowered;
  }
  return true;
}

/** A value as the number it spells, or NaN. */
export function asNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}

/** The forms under which a set of literals is looked up. */
export interface LiteralSet {
  texts: Set<string>;
  numbers: Set<number>;
  hasNull: boolean;
  caseSensitive: boolean;
}

export function literalSet(values: readonly Scalar[], caseSensitive: boolean, field: string): LiteralSet {
  const set: LiteralSet = { texts: new Set(), numbers: new Set(), hasNull: false, caseSensitive };
  for (const v of values) {
    if (v === null) {
      set.hasNull = true;
    } else if (typeof v === 'number') {
      set.numbers.add(v);
      set.texts.add(String(v));
    } else if (typeof v === 'boolean') {
      set.texts.add(String(v));
    } else {
      set.texts.add(caseSensitive ? v : v.toLowerCase());
      const n = asNumber(v);
      if (Number.isFinite(n)) set.numbers.add(n);
      if (field === 'protocol') {
        const p = protocolNumber(v);
        if (p !== null) set.numbers.add(p);
      }
    }
  }
  return set;
}

/** Does one (non-array) record value equal any literal of the set? */
export function scalarInSet(set: LiteralSet, v: unknown): boolean {
  switch (typeof v) {
    case 'string':
      return set.texts.has(v) || (!set.caseSensitive && set.texts.has(lowerIfNeeded(v)));
    case 'number':
      return set.numbers.has(v);
    case 'boolean':
      return set.texts.has(v ? 'true' : 'false');
    case 'undefined':
      return set.hasNull;
    case 'object':
      return v === null && set.hasNull;
    default:
      return false;
  }
}
