/**
 * CIDR membership, compiled once per rule: the networks are merged into sorted, disjoint address
 * ranges and a record's address is found by binary search, so a 10,000-entry blocklist costs about
 * as much as a 10-entry one. IPv4 addresses are 32-bit numbers, IPv6 addresses 128-bit bigints.
 * An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) also matches IPv4 networks, and an IPv4 address
 * also matches IPv6 networks that contain its mapped form.
 */

const V4_MAPPED_PREFIX = 0xffffn << 32n;

/** Parses dotted-quad IPv4 (no leading zeros) into an unsigned 32-bit number, or -1. */
export function parseIPv4(s: string): number {
  const len = s.length;
  if (len < 7 || len > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < len; i++) {
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

/** Parses an IPv6 address (with `::`, an embedded IPv4 tail and an optional `%zone`), or null. */
export function parseIPv6(input: string): bigint | null {
  const zone = input.indexOf('%');
  const s = zone >= 0 ? input.slice(0, zone) : input;
  if (s.length < 2 || s.length > 45) return null;
  const gap = s.indexOf('::');
  if (gap >= 0 && s.indexOf('::', gap + 1) >= 0) return null;
  const head = gap >= 0 ? s.slice(0, gap) : s;
  const tail = gap >= 0 ? s.slice(gap + 2) : '';
  const headGroups = head.length > 0 ? head.split(':') : [];
  const tailGroups = tail.length > 0 ? tail.split(':') : [];
  const groups: number[] = [];
  const all = [...headGroups, ...tailGroups];
  const lastIsV4 = all.length > 0 && (all[all.length - 1] as string).includes('.');
  const pushGroups = (list: string[], allowV4Last: boolean): boolean => {
    for (let i = 0; i < list.length; i++) {
      const g = list[i] as string;
      if (allowV4Last && i === list.length - 1 && g.includes('.')) {
        const v4 = parseIPv4(g);
        if (v4 < 0) return false;
        groups.push(Math.floor(v4 / 65536), v4 % 65536);
        continue;
      }
      if (g.length === 0 || g.length > 4) return false;
      let v = 0;
      for (let j = 0; j < g.length; j++) {
        const h = hexValue(g.charCodeAt(j));
        if (h < 0) return false;
        v = v * 16 + h;
      }
      groups.push(v);
    }
    return true;
  };
  if (!pushGroups(headGroups, lastIsV4 && gap < 0)) return null;
  const headCount = groups.length;
  if (!pushGroups(tailGroups, lastIsV4)) return null;
  const tailCount = groups.length - headCount;
  if (gap < 0 && groups.length !== 8) return null;
  if (gap >= 0 && groups.length > 7) return null;
  const full = gap < 0 ? groups : [...groups.slice(0, headCount), ...new Array<number>(8 - groups.length).fill(0), ...groups.slice(headCount, headCount + tailCount)];
  let value = 0n;
  for (const g of full) value = (value << 16n) | BigInt(g);
  return value;
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
  const r6 = mergeRanges(v6, (x) => x + 1n);
  const has4 = r4.starts.length > 0;
  const has6 = r6.starts.length > 0;
  return (address) => {
    const a4 = parseIPv4(address);
    if (a4 >= 0) return (has4 && inRanges(r4, a4)) || (has6 && inRanges(r6, V4_MAPPED_PREFIX | BigInt(a4)));
    if (address.indexOf(':') < 0) return false;
    const a6 = parseIPv6(address);
    if (a6 === null) return false;
    if (has6 && inRanges(r6, a6)) return true;
    return has4 && a6 >> 32n === 0xffffn && inRanges(r4, Number(a6 & 0xffffffffn));
  };
}
