/**
 * CIDR membership, compiled once per rule: the networks are merged into sorted, disjoint address
 * ranges and a record's address is found by binary search, so a 10,000-entry blocklist costs about
 * as much as a 10-entry one. IPv4 addresses are 32-bit numbers, IPv6 addresses 128-bit bigints.
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) also matches IPv4 networks, and an IPv4 address
 * also matches IPv6 networks that contain its mapped form.
 */

/** Parses dotted-quad IPv4 (no leading zeros) into an unsigned 32-bit number, or -1. */
export function parseIPv4(s: string): number {
  return parseIPv4Range(s, 0, s.length);
}

function parseIPv4Range(s: string, from: number, to: number): number {
  const len = to - from;
  if (len < 7 || len > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses an IPv6 address (with `::`, an embedded IPv4 tail and an optional `%zone`) into four
 * 32-bit words, most significant first, using `groups` (length ≥ 8) as scratch. No allocation.
 */
export function parseIPv6Words(s: string, words: number[], groups: number[]): boolean {
  let end = s.indexOf('%');
  if (end < 0) end = s.length;
  if (end < 2 || end > 45) return false;
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    const start = i;
    let v = 0;
    while (i < end) {
      const h = hexValue(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      i++;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      const v4 = parseIPv4Range(s, start, end);
      if (v4 < 0 || n > 6) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      i = end;
      break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4 || n === 8) return false;
    groups[n++] = v;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === end) {
      return false;
    }
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false;
    const tail = n - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k] as number;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  for (let w = 0; w < 4; w++) words[w] = (groups[2 * w] as number) * 65536 + (groups[2 * w + 1] as number);
  return true;
}

/** Parses an IPv6 address into a 128-bit bigint, or null. */
export function parseIPv6(s: string): bigint | null {
  const words = [0, 0, 0, 0];
  if (!parseIPv6Words(s, words, new Array<number>(8).fill(0))) return null;
  return words.reduce((acc, w) => (acc << 32n) | BigInt(w), 0n);
}

interface Ranges<T> { starts: T[]; ends: T[] }

function mergeRanges<T extends number | bigint>(ranges: Array<[T, T]>, successor: (x: T) => T): Ranges<T> {
  ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const starts: T[] = [];
  const ends: T[] = [];
  for (const [s, e] of ranges) {
    const last = ends.length - 1;
    if (last >= 0 && s <= successor(ends[last] as T)) {
      if (e > (ends[last] as T)) ends[last] = e;
    } else {
      starts.push(s);
      ends.push(e);
    }
  }
  return { starts, ends };
}

function inRanges<T extends number | bigint>(r: Ranges<T>, x: T): boolean {
  let lo = 0;
  let hi = r.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((r.starts[mid] as T) > x) hi = mid - 1;
    else if ((r.ends[mid] as T) < x) lo = mid + 1;
    else return true;
  }
  return false;
}

type Network = { v: 4; start: number; end: number } | { v: 6; start: bigint; end: bigint };

/** Parses `addr/prefix` or a bare address. Host bits below the prefix are ignored. */
export function parseNetwork(text: string): Network | null {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : null;
  if (prefixText !== null && !/^\d{1,3}$/.test(prefixText)) return null;
  const v4 = parseIPv4(addr);
  if (v4 >= 0) {
    const prefix = prefixText === null ? 32 : Number(prefixText);
    if (prefix > 32) return null;
    const size = 2 ** (32 - prefix);
    const start = Math.floor(v4 / size) * size;
    return { v: 4, start, end: start + size - 1 };
  }
  const v6 = parseIPv6(addr);
  if (v6 === null) return null;
  const prefix = prefixText === null ? 128 : Number(prefixText);
  if (prefix > 128) return null;
  const hostBits = BigInt(128 - prefix);
  const start = (v6 >> hostBits) << hostBits;
  return { v: 6, start, end: start + (1n << hostBits) - 1n };
}

export type CidrMatcher = (address: string) => boolean;

/** IPv6 ranges as flat arrays of 32-bit words: range i is words [4i, 4i+4) of starts and ends. */
interface WordRanges { starts: number[]; ends: number[]; count: number }

function toWords(x: bigint, out: number[]): void {
  for (let w = 3; w >= 0; w--) out.push(Number((x >> BigInt(32 * w)) & 0xffffffffn));
}

function wordRanges(r: Ranges<bigint>): WordRanges {
  const starts: number[] = [];
  const ends: number[] = [];
  r.starts.forEach((x) => toWords(x, starts));
  r.ends.forEach((x) => toWords(x, ends));
  return { starts, ends, count: r.starts.length };
}

/** Sign of (a − b[at…at+4]) over four words. */
function compareWords(a: number[], b: number[], at: number): number {
  for (let w = 0; w < 4; w++) {
    const d = (a[w] as number) - (b[at + w] as number);
    if (d !== 0) return d;
  }
  return 0;
}

function inWordRanges(r: WordRanges, x: number[]): boolean {
  let lo = 0;
  let hi = r.count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (compareWords(x, r.starts, mid * 4) < 0) hi = mid - 1;
    else if (compareWords(x, r.ends, mid * 4) > 0) lo = mid + 1;
    else return true;
  }
  return false;
}

/** Compiles validated networks into one membership test over textual addresses. */
export function compileCidrs(networks: readonly string[]): CidrMatcher {
  const v4: Array<[number, number]> = [];
  const v6: Array<[bigint, bigint]> = [];
  for (const text of networks) {
    const n = parseNetwork(text);
    if (n === null) throw new Error(`invalid network '${text}'`);
    if (n.v === 4) v4.push([n.start, n.end]);
    else v6.push([n.start, n.end]);
  }
  const r4 = mergeRanges(v4, (x) => x + 1);
  const r6 = wordRanges(mergeRanges(v6, (x) => x + 1n));
  const has4 = r4.starts.length > 0;
  const has6 = r6.count > 0;
  // Scratch space of this matcher; the engine is single-threaded and the matcher not re-entrant.
  const words = [0, 0, 0, 0];
  const groups = [0, 0, 0, 0, 0, 0, 0, 0];
  return (address) => {
    const a4 = parseIPv4(address);
    if (a4 >= 0) {
      if (has4 && inRanges(r4, a4)) return true;
      if (!has6) return false;
      words[0] = 0; words[1] = 0; words[2] = 0xffff; words[3] = a4;
      return inWordRanges(r6, words);
    }
    if (address.indexOf(':') < 0 || !parseIPv6Words(address, words, groups)) return false;
    if (has6 && inWordRanges(r6, words)) return true;
    return has4 && words[0] === 0 && words[1] === 0 && words[2] === 0xffff && inRanges(r4, words[3] as number);
  };
}
