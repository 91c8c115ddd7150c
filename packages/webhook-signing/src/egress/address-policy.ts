import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';

type IPv4 = ipaddr.IPv4;
type IPv6 = ipaddr.IPv6;
type Cidr = [IPv4 | IPv6, number];

/**
 * Which IP addresses a webhook may be delivered to. A webhook URL is chosen by a tenant, so
 * without this policy it could point the delivery worker at the cluster's own services or at a
 * cloud metadata endpoint (server-side request forgery). Only public unicast addresses pass;
 * everything else is refused with a reason unless an allow-listed CIDR covers it.
 *
 * IPv6 is judged as follows: only global unicast (2000::/3) can pass, minus the special ranges
 * inside it; addresses that embed an IPv4 address (IPv4-mapped, 6to4, NAT64) are judged by
 * that IPv4 address where the embedding is well defined, and refused outright where it is not.
 */
export type RefusalReason =
  | 'invalid_address'
  | 'cloud_metadata'
  | 'unspecified'
  | 'private'
  | 'loopback'
  | 'link_local'
  | 'carrier_grade_nat'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'benchmarking'
  | 'documentation'
  | 'unique_local'
  | 'site_local'
  | 'ipv4_mapped'
  | 'ipv4_translated'
  | 'ipv4_compatible'
  | 'nat64'
  | '6to4'
  | 'teredo'
  | 'not_global_unicast';

export type AddressVerdict =
  | { allowed: true; address: string; via: 'public' | 'allow_list' }
  | { allowed: false; address: string; reason: RefusalReason; embeddedIPv4?: string };

export interface AddressPolicy {
  /** The allow-listed CIDRs, normalised. */
  readonly allowCidrs: readonly string[];
  check(address: string): AddressVerdict;
}

export interface AddressPolicyOptions {
  /**
   * CIDRs that are allowed even though they are otherwise refused (`VIGIL_WEBHOOK_ALLOW_CIDRS`;
   * `vigil up` passes loopback). A cloud metadata address is only allowed by an entry naming that
   * exact address (/32 or /128): a broad entry such as 169.254.0.0/16 does not expose it.
   */
  allowCidrs?: readonly string[];
}

/**
 * Cloud instance metadata and credential endpoints. Most sit inside ranges refused anyway; they
 * are listed so that the recorded reason names them and so a broad allow-list does not open them.
 */
const CLOUD_METADATA = new Set([
  '169.254.169.254', // AWS, GCP, Azure, DigitalOcean, OpenStack, Oracle IMDS
  '169.254.170.2', // AWS ECS task metadata and credentials
  '169.254.170.23', // AWS EKS Pod Identity agent
  '169.254.169.253', // AWS VPC DNS resolver
  '169.254.169.123', // AWS time sync
  '100.100.100.200', // Alibaba Cloud metadata
  '192.0.0.192', // Oracle Cloud metadata
  'fd00:ec2::254', // AWS IMDS over IPv6
  'fd00:ec2::23', // AWS EKS Pod Identity agent over IPv6
  'fd00:ec2::253', // AWS VPC DNS resolver over IPv6
  'fd00:ec2::123', // AWS time sync over IPv6
]);

const cidr = (text: string): Cidr => ipaddr.parseCIDR(text);

// Order matters only for the reason reported: the more specific range comes first.
const REFUSED_IPV4: readonly (readonly [Cidr, RefusalReason])[] = [
  [cidr('0.0.0.0/8'), 'unspecified'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('100.64.0.0/10'), 'carrier_grade_nat'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('169.254.0.0/16'), 'link_local'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.0.0.0/24'), 'reserved'], // IETF protocol assignments
  [cidr('192.0.2.0/24'), 'documentation'], // TEST-NET-1
  [cidr('192.88.99.0/24'), 'reserved'], // deprecated 6to4 relay anycast
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('198.18.0.0/15'), 'benchmarking'],
  [cidr('198.51.100.0/24'), 'documentation'], // TEST-NET-2
  [cidr('203.0.113.0/24'), 'documentation'], // TEST-NET-3
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('255.255.255.255/32'), 'broadcast'],
  [cidr('240.0.0.0/4'), 'reserved'],
];

const NAT64_WELL_KNOWN = cidr('64:ff9b::/96');
const SIX_TO_FOUR = cidr('2002::/16');
const GLOBAL_UNICAST = cidr('2000::/3');
const IPV4_MAPPED = cidr('::ffff:0:0/96');

// Ranges outside 2000::/3 are refused anyway; they are listed to name the reason.
const REFUSED_IPV6: readonly (readonly [Cidr, RefusalReason])[] = [
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  [IPV4_MAPPED, 'ipv4_mapped'],
  [cidr('::ffff:0:0:0/96'), 'ipv4_translated'], // RFC 6145
  [cidr('::/96'), 'ipv4_compatible'], // deprecated
  [cidr('64:ff9b:1::/48'), 'nat64'], // local-use NAT64 prefix; embedding depends on the site
  [cidr('100::/64'), 'reserved'], // discard-only
  [cidr('fc00::/7'), 'unique_local'],
  [cidr('fe80::/10'), 'link_local'],
  [cidr('fec0::/10'), 'site_local'],
  [cidr('ff00::/8'), 'multicast'],
  // Inside 2000::/3:
  [cidr('2001::/32'), 'teredo'], // the client's IPv4 is obfuscated; cannot be judged
  [cidr('2001:2::/48'), 'benchmarking'],
  [cidr('2001:db8::/32'), 'documentation'],
  [cidr('3fff::/20'), 'documentation'], // RFC 9637
  [cidr('2001::/23'), 'reserved'], // IETF protocol assignments (ORCHID, AS112, anycast…)
];

export function createAddressPolicy(options: AddressPolicyOptions = {}): AddressPolicy {
  const allow: Cidr[] = [];
  for (const text of options.allowCidrs ?? []) {
    const trimmed = text.trim();
    // A bare address means that one address.
    const parsed = parseCidr(trimmed);
    if (!parsed) throw new RangeError(`invalid CIDR in webhook allow-list: "${text}"`);
    allow.push(parsed);
  }
  const allowCidrs = Object.freeze(allow.map(([address, bits]) => `${address.toString()}/${bits}`));
  return {
    allowCidrs,
    check(address) {
      const parsed = parseAddress(address);
      if (!parsed) return { allowed: false, address, reason: 'invalid_address' };
      const normalised = parsed.toString();
      const embedded = embeddedIPv4(parsed);
      const candidates = embedded ? [parsed, embedded] : [parsed];
      const metadata = candidates.some((ip) => CLOUD_METADATA.has(ip.toString()));
      const listed = allow.some(([range, bits]) =>
        candidates.some((ip) => ip.kind() === range.kind() && ip.match(range, bits) && (!metadata || isHost(range, bits))),
      );
      if (listed) return { allowed: true, address: normalised, via: 'allow_list' };
      if (metadata) return { allowed: false, address: normalised, reason: 'cloud_metadata' };
      const refusal = parsed.kind() === 'ipv4' ? refuseIPv4(parsed as IPv4) : refuseIPv6(parsed as IPv6);
      if (!refusal) return { allowed: true, address: normalised, via: 'public' };
      return { allowed: false, address: normalised, ...refusal };
    },
  };
}

/**
 * Parses an address as a resolver or URL gives it: dotted quad or IPv6, brackets tolerated.
 * Validity is decided by node:net (inet_pton rules), which refuses the octal and hex IPv4 forms
 * ipaddr.js accepts; a dotted IPv4 tail is rewritten to hex groups first because ipaddr.js reads
 * `::a.b.c.d` as IPv4-mapped rather than as the address it is.
 */
function parseAddress(text: string): IPv4 | IPv6 | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(bare)) return ipaddr.IPv4.parse(bare);
  if (!isIPv6(bare)) return null;
  const [address = '', zone] = bare.split('%', 2);
  const tail = /^(.*:)(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const hex = tail
    ? `${tail[1]}${((Number(tail[2]) << 8) | Number(tail[3])).toString(16)}:${((Number(tail[4]) << 8) | Number(tail[5])).toString(16)}`
    : address;
  return ipaddr.IPv6.parse(zone === undefined ? hex : `${hex}%${zone}`);
}

function refuseIPv4(ip: IPv4): { reason: RefusalReason } | null {
  for (const [[range, bits], reason] of REFUSED_IPV4) {
    if (ip.match(range, bits)) return { reason };
  }
  return null;
}

function refuseIPv6(ip: IPv6): { reason: RefusalReason; embeddedIPv4?: string } | null {
  const embedded = embeddedIPv4(ip);
  if (embedded && (ip.match(NAT64_WELL_KNOWN) || ip.match(SIX_TO_FOUR))) {
    // Judged by the IPv4 address the packet will reach.
    const inner = refuseIPv4(embedded);
    if (!inner) return null;
    return { reason: ip.match(SIX_TO_FOUR) ? '6to4' : 'nat64', embeddedIPv4: embedded.toString() };
  }
  for (const [[range, bits], reason] of REFUSED_IPV6) {
    if (ip.match(range, bits)) return embedded ? { reason, embeddedIPv4: embedded.toString() } : { reason };
  }
  if (!ip.match(GLOBAL_UNICAST)) return { reason: 'not_global_unicast' };
  return null;
}

/** The IPv4 address carried inside an IPv4-mapped, NAT64 (well-known prefix) or 6to4 address. */
function embeddedIPv4(ip: IPv4 | IPv6): IPv4 | null {
  if (ip.kind() !== 'ipv6') return null;
  const v6 = ip as IPv6;
  const p = v6.parts;
  const fromWords = (high: number, low: number) => new ipaddr.IPv4([high >> 8, high & 255, low >> 8, low & 255]);
  if (v6.match(IPV4_MAPPED) || v6.match(NAT64_WELL_KNOWN)) return fromWords(p[6] ?? 0, p[7] ?? 0);
  if (v6.match(SIX_TO_FOUR)) return fromWords(p[1] ?? 0, p[2] ?? 0);
  return null;
}

/** `address/bits`, or a bare address meaning that one address; strict forms only. */
function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const address = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!address || (address.kind() === 'ipv6' && (address as IPv6).zoneId !== undefined)) return null;
  if (slash < 0) return hostCidr(address);
  const bitsText = text.slice(slash + 1);
  const bits = Number(bitsText);
  const max = address.kind() === 'ipv4' ? 32 : 128;
  if (!/^\d{1,3}$/.test(bitsText) || bits > max) return null;
  return [address, bits];
}

function hostCidr(ip: IPv4 | IPv6): Cidr {
  return [ip, ip.kind() === 'ipv4' ? 32 : 128];
}

function isHost(range: IPv4 | IPv6, bits: number): boolean {
  return bits === (range.kind() === 'ipv4' ? 32 : 128);
}
