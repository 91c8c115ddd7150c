import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The client's address: the connecting peer, unless the peer is a trusted proxy
 * (`VIGIL_INGEST_TRUSTED_PROXIES`); then the right-most address in `X-Forwarded-For` that is not
 * itself a trusted proxy (the left-most entries are whatever the client chose to send).
 */
export function clientIpResolver(trustedCidrs: readonly string[]): (req: IncomingMessage) => string | null {
  if (trustedCidrs.length === 0) return (req) => req.socket.remoteAddress ?? null;
  const trusted = new BlockList();
  for (const cidr of trustedCidrs) {
    const [address, bits] = cidr.split('/') as [string, string];
    trusted.addSubnet(address, Number(bits), isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }
  const isTrusted = (address: string): boolean => {
    const unwrapped = address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(unwrapped);
    return family !== 0 && trusted.check(unwrapped, family === 6 ? 'ipv6' : 'ipv4');
  };
  return (req) => {
    const peer = req.socket.remoteAddress ?? null;
    if (peer === null || !isTrusted(peer)) return peer;
    const header = req.headers['x-forwarded-for'];
    if (header === undefined) return peer;
    const hops = (Array.isArray(header) ? header.join(',') : header).split(',').map((s) => s.trim());
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string;
      if (isIP(hop) === 0) return peer;
      if (!isTrusted(hop)) return hop;
    }
    return peer;
  };
}
