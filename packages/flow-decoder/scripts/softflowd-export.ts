/**
 * Runs Debian's softflowd over a pcap file and collects the export datagrams it sends to a local UDP
 * socket. softflowd 1.1.0 truncates the `-r` path to 15 characters, so callers pass a short path.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

export interface SoftflowdRun {
  /** Path of the pcap file; at most 15 characters. */
  pcapPath: string;
  /** Extra softflowd arguments, e.g. ['-v', '10', '-b']. */
  args: readonly string[];
  /** Give up after this long (softflowd exits by itself at the end of the file). */
  timeoutMs?: number;
}

/** Binds a local UDP socket, runs `exporter` against its port and returns every datagram received. */
export async function collectUdpDatagrams(exporter: (port: number) => Promise<void>): Promise<Buffer[]> {
  const sock = createSocket('udp4');
  const datagrams: Buffer[] = [];
  sock.on('message', (msg) => datagrams.push(Buffer.from(msg)));
  sock.bind(0, '127.0.0.1');
  await once(sock, 'listening');
  try {
    await exporter(sock.address().port);
    // Datagrams sent just before the exporter exited may still be in the socket buffer.
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    sock.close();
  }
  return datagrams;
}

/** Export over UDP: one Buffer per datagram received. */
export async function runSoftflowd(run: SoftflowdRun): Promise<Buffer[]> {
  return collectUdpDatagrams((port) => spawnSoftflowd(run, port, []));
}

/** Export over TCP (`-P tcp`): every byte of the stream, as received. */
export async function runSoftflowdTcp(run: SoftflowdRun): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const server = createServer((conn) => conn.on('data', (d: Buffer) => chunks.push(d)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await spawnSoftflowd(run, (server.address() as AddressInfo).port, ['-P', 'tcp']);
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    server.close();
  }
  return Buffer.concat(chunks);
}

async function spawnSoftflowd(run: SoftflowdRun, port: number, transport: string[]): Promise<void> {
  if (run.pcapPath.length > 15) throw new Error(`softflowd truncates -r paths longer than 15 characters: ${run.pcapPath}`);
  // softflowd also mishandles long control-socket paths (it never exits), so keep them short.
  const tag = (port % 10_000).toString();
  const ctl = `/tmp/s${tag}.c`;
  const pid = `/tmp/s${tag}.p`;
  const child = spawn(
    'softflowd',
    ['-r', run.pcapPath, '-n', `127.0.0.1:${port}`, '-d', '-c', ctl, '-p', pid, ...transport, ...run.args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.resume();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGTERM'), run.timeoutMs ?? 20_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  rmSync(ctl, { force: true });
  rmSync(pid, { force: true });
  if (code !== 0) throw new Error(`softflowd exited with ${code}: ${stderr}`);
}

/** Serialises datagrams as a sequence of 2-byte big-endian length prefixed datagrams. */
export function lengthPrefixed(datagrams: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const d of datagrams) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(d.length);
    parts.push(len, d);
  }
  return Buffer.concat(parts);
}
