import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { AddressPolicy, AddressVerdict } from './address-policy';
import type { ErrorClass } from '../attempt/error-class';

/**
 * Where a delivery may connect. Two checks, both before any packet leaves:
 *
 * 1. `checkDestination` — the URL: only http and https, and a host given as an IP literal must
 *    pass the address policy (node:net skips the lookup for literals, so this is the only check
 *    they get).
 * 2. `createSafeLookup` — host names: resolve, check every resolved address against the policy,
 *    and hand node:net exactly the addresses that were checked. The socket connects to one of
 *    them; nothing resolves the name a second time, so a DNS answer that changes between check
 *    and connect (DNS rebinding) cannot redirect the connection.
 */
export type DestinationErrorClass = Extract<ErrorClass, 'ssrf_refused' | 'unsupported_scheme' | 'invalid_url'>;

export class DestinationRefusedError extends Error {
  override readonly name = 'DestinationRefusedError';
  readonly code = 'ERR_WEBHOOK_DESTINATION_REFUSED';
  constructor(
    readonly errorClass: DestinationErrorClass,
    message: string,
    /** The refused address and why, when the policy refused it. */
    readonly verdict?: Extract<AddressVerdict, { allowed: false }>,
    readonly hostname?: string,
  ) {
    super(message);
  }
}

export type DestinationCheck =
  | { ok: true; url: URL; /** Set when the host is an IP literal (already checked). */ address?: string }
  | { ok: false; error: DestinationRefusedError };

export function checkDestination(url: string | URL, policy: AddressPolicy): DestinationCheck {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, error: new DestinationRefusedError('invalid_url', 'webhook URL is not a valid absolute URL') };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return {
      ok: false,
      error: new DestinationRefusedError('unsupported_scheme', `webhook URL scheme ${parsed.protocol} is not http or https`),
    };
  }
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (host === '') return { ok: false, error: new DestinationRefusedError('invalid_url', 'webhook URL has no host') };
  if (!isIpLiteral(host)) return { ok: true, url: parsed };
  const verdict = policy.check(host);
  if (!verdict.allowed) return { ok: false, error: refused(host, verdict) };
  return { ok: true, url: parsed, address: verdict.address };
}

/** Resolves a host name to every address it has; injectable so tests need no real DNS. */
export type HostResolver = (hostname: string) => Promise<readonly LookupAddress[]>;

export const systemResolver: HostResolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface SafeLookupOptions {
  resolve?: HostResolver;
  /** Called with every host name and the verdicts for its addresses; for logs and metrics. */
  onResolved?: (hostname: string, verdicts: readonly AddressVerdict[]) => void;
}

/**
 * A `lookup` for `http.request`, `https.request`, `net.connect` or an `http.Agent`: refuses the
 * whole host with a DestinationRefusedError (`ssrf_refused`) if any address it resolves to is
 * refused, since a name that mixes public and internal answers is how rebinding attacks start.
 */
export function createSafeLookup(policy: AddressPolicy, options: SafeLookupOptions = {}): LookupFunction {
  const resolve = options.resolve ?? systemResolver;
  return (hostname: string, lookupOptions: LookupOptions, callback) => {
    const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    const resolved: Promise<readonly LookupAddress[]> = isIpLiteral(bare)
      ? Promise.resolve([{ address: bare, family: bare.includes(':') ? 6 : 4 }])
      : resolve(bare);
    resolved.then(
      (addresses) => {
        const verdicts = addresses.map((entry) => policy.check(entry.address));
        options.onResolved?.(bare, verdicts);
        const refusal = verdicts.find((verdict) => !verdict.allowed);
        if (refusal && !refusal.allowed) return callback(refused(bare, refusal), '', 0);
        const family = familyOf(lookupOptions.family);
        const usable = addresses.filter((entry) => family === 0 || entry.family === family);
        const first = usable[0];
        if (!first) {
          const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${bare}`), { code: 'ENOTFOUND', hostname: bare });
          return callback(error, '', 0);
        }
        if (lookupOptions.all) return callback(null, usable.map((entry) => ({ address: entry.address, family: entry.family })));
        return callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}

function refused(hostname: string, verdict: Extract<AddressVerdict, { allowed: false }>): DestinationRefusedError {
  const address = verdict.embeddedIPv4 ? `${verdict.address} (embedding ${verdict.embeddedIPv4})` : verdict.address;
  const subject = hostname === verdict.address ? address : `${hostname} resolves to ${address}, which`;
  return new DestinationRefusedError(
    'ssrf_refused',
    `webhook destination refused: ${subject} is ${verdict.reason.replaceAll('_', ' ')} and not allow-listed`,
    verdict,
    hostname,
  );
}

function isIpLiteral(host: string): boolean {
  return host.includes(':') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

function familyOf(family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}
