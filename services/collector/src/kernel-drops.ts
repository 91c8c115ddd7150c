/**
 * Datagrams the kernel dropped because a listener's receive buffer was full — loss the collector
 * never sees as a datagram, read from Linux's socket table (`/proc/net/udp*`, the `drops` column of
 * each socket bound to the port). Other systems have no such table: the count stays null there.
 */
import { readFileSync } from 'node:fs';

const TABLES = ['/proc/net/udp', '/proc/net/udp6'];

/** Sum of `drops` over the UDP sockets bound to `port`; null where the table is not available. */
export function kernelUdpDrops(port: number): number | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let found = false;
  let drops = 0;
  for (const table of TABLES) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    found = true;
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (local === undefined || !local.endsWith(`:${hexPort}`)) continue;
      const n = Number(cols[cols.length - 1]);
      if (Number.isFinite(n)) drops += n;
    }
  }
  return found ? drops : null;
}
