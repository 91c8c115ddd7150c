/** Textual forms of addresses read from flow records, without intermediate allocations. */

const OCTET: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString());

/** Dotted-quad form of an IPv4 address held as an unsigned 32-bit integer. */
export function ipv4Text(addr: number): string {
  return (
    OCTET[addr >>> 24]! + '.' + OCTET[(addr >>> 16) & 255]! + '.' + OCTET[(addr >>> 8) & 255]! + '.' + OCTET[addr & 255]!
  );
}

/**
 * RFC 5952 text of the IPv6 address stored in 16 bytes at `off`: lower-case hex, no leading zeros,
 * the longest run (first on a tie) of two or more zero groups as "::", IPv4-mapped addresses in
 * mixed notation.
 */
export function ipv6Text(buf: Uint8Array, off: number): string {
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let g = 0; g < 8; g++) {
    const zero = buf[off + 2 * g] === 0 && buf[off + 2 * g + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = g;
      const len = g - runStart + 1;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
    } else runStart = -1;
  }
  if (bestStart === 0 && bestLen === 5 && buf[off + 10] === 0xff && buf[off + 11] === 0xff) {
    const v4 = ((buf[off + 12]! << 24) | (buf[off + 13]! << 16) | (buf[off + 14]! << 8) | buf[off + 15]!) >>> 0;
    return '::ffff:' + ipv4Text(v4);
  }
  let out = '';
  for (let g = 0; g < 8; g++) {
    if (g === bestStart) {
      out += '::';
      g += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(':')) out += ':';
    out += ((buf[off + 2 * g]! << 8) | buf[off + 2 * g + 1]!).toString(16);
  }
  return out;
}

/** True when the 16 bytes at `off` are all zero (the unspecified address). */
export function ipv6IsZero(buf: Uint8Array, off: number): boolean {
  for (let i = 0; i < 16; i++) if (buf[off + i] !== 0) return false;
  return true;
}
