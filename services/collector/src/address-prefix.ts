/**
 * IP addresses and CIDR prefixes as bytes, for matching datagram sources against registered exporter
 * networks. IPv4-mapped IPv6 sources (`::ffff:192.0.2.1`, what a dual-stack socket reports for IPv4
 * senders) are matched as the IPv4 address they carry.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface Address {
  family: 4 | 6;
  bytes: Uint8Array;
}

export interface Prefix extends Address {
  bits: number;
}

function parseV4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

function parseV6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let s = text;
  let tailV4: Uint8Array | null = null;
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) > lastColon) {
    tailV4 = parseV4(s.slice(lastColon + 1));
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const [head = '', tail] = s.split('::');
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  if (tailV4 !== null) out.set(tailV4, 12);
  return out;
}

const MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** Parses an address; null when it is not one. IPv4-mapped IPv6 becomes IPv4. */
export function parseAddress(text: string): Address | null {
  const zone = text.indexOf('%');
  const plain = zone >= 0 ? text.slice(0, zone) : text;
  if (isIPv4(plain)) return { family: 4, bytes: parseV4(plain) };
  if (!isIPv6(plain)) return null;
  const bytes = parseV6(plain);
  if (MAPPED_PREFIX.every((b, i) => bytes[i] === b)) return { family: 4, bytes: bytes.slice(12) };
  return { family: 6, bytes };
}

/** The canonical text of a source address: IPv4-mapped IPv6 as plain IPv4, anything else as given. */
export function canonicalSource(text: string): string {
  if (text.startsWith('::ffff:') && isIPv4(text.slice(7))) return text.slice(7);
  return text;
}

/** Parses `addr/bits` (PostgreSQL's `cidr::text`), or a bare address as a host prefix. */
export function parsePrefix(text: string): Prefix | null {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (address === null) return null;
  const max = address.family === 4 ? 32 : 128;
  const bits = slash < 0 ? max : Number(text.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return null;
  return { ...address, bits };
}

export function prefixContains(prefix: Prefix, address: Address): boolean {
  if (prefix.family !== address.family) return false;
  const whole = prefix.bits >> 3;
  for (let i = 0; i < whole; i++) if (prefix.bytes[i] !== address.bytes[i]) return false;
  const rest = prefix.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (prefix.bytes[whole]! & mask) === (address.bytes[whole]! & mask);
}
