/**
 * The Debian exporters the flow tests drive: softflowd and pmacct's nfprobe read a pcap file; fprobe
 * cannot (it only captures live from an interface: its `-r` is real-time priority, not a file), so
 * the same packets are injected onto the loopback interface while it captures there.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { frame, type PacketSpec } from '@vigil/flow-decoder/testing';

/**
 * Resolves when the child exits with status 0 (or a status `accept` allows given its output); call it
 * right after spawning (it listens for 'exit').
 */
async function exited(child: ChildProcess, what: string, timeoutMs: number, accept?: (code: number, output: string) => boolean): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  clearTimeout(timer);
  if (code !== 0 && !(code !== null && accept?.(code, stderr))) throw new Error(`${what} exited with ${code ?? signal}: ${stderr}`);
}

/**
 * softflowd over a pcap, exporting to host:port (UDP unless `args` has `-P tcp`). softflowd 1.1.0
 * truncates the `-r` path to 15 characters and mishandles long control-socket paths: keep both short.
 * `-a` makes flow times follow the pcap's clock.
 */
export async function softflowd(pcapPath: string, args: readonly string[], host: string, port: number): Promise<void> {
  if (pcapPath.length > 15) throw new Error(`softflowd truncates -r paths longer than 15 characters: ${pcapPath}`);
  // Control socket paths of 14 characters or more make softflowd 1.1.0 hang at exit.
  const tag = String(port % 10_000);
  const ctl = `/tmp/f${tag}.c`;
  const pid = `/tmp/f${tag}.p`;
  const child = spawn('softflowd', ['-r', pcapPath, '-n', `${host}:${port}`, '-d', '-a', '-c', ctl, '-p', pid, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await exited(child, 'softflowd', 30_000);
  } finally {
    rmSync(ctl, { force: true });
    rmSync(pid, { force: true });
  }
}

/** pmacctd with the nfprobe plugin over a pcap (it exits at the end of the file). */
export async function pmacctNfprobe(pcapPath: string, version: 9 | 10, host: string, port: number): Promise<void> {
  const conf = `/tmp/vigil-nfprobe-${process.pid}-${port}.conf`;
  writeFileSync(
    conf,
    [
      'daemonize: false',
      `pcap_savefile: ${pcapPath}`,
      'plugins: nfprobe',
      `nfprobe_receiver: ${host}:${port}`,
      `nfprobe_version: ${version}`,
      'aggregate: src_host, dst_host, src_port, dst_port, proto, tos',
      '',
    ].join('\n'),
  );
  try {
    // At the end of the file the core sometimes sees its plugin leave first and exits 1 after the
    // plugin's orderly shutdown; the export is complete either way (the tests compare it with tshark).
    const orderly = (code: number, log: string) => code === 1 && log.includes('Shutting down on user request');
    await exited(spawn('pmacctd', ['-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] }), 'pmacctd', 30_000, orderly);
  } finally {
    rmSync(conf, { force: true });
  }
}

/** The BPF filter that keeps fprobe to the injected scenario traffic (IPv4: NetFlow v5 cannot carry IPv6). */
export const FPROBE_FILTER = 'net 192.0.2.0/24 or net 198.51.100.0/24 or net 203.0.113.0/24';

/**
 * fprobe capturing on `lo` while the packets' Ethernet frames are written there through an AF_PACKET
 * socket (python3, as root), paced so the capture never drops; SIGTERM makes fprobe export its whole
 * flow cache. `-q 20000`: the default pending queue of 100 flows overflows on a burst and loses
 * packets. Flow times are capture times, not the packets' own.
 */
export async function fprobeOnLoopback(packets: readonly PacketSpec[], host: string, port: number): Promise<void> {
  const framesFile = `/tmp/vigil-fprobe-${process.pid}-${port}.frames`;
  writeFileSync(
    framesFile,
    Buffer.concat(
      packets.map((p) => {
        const f = frame(p);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(f.length);
        return Buffer.concat([len, f]);
      }),
    ),
  );
  const child = spawn(
    'fprobe',
    ['-i', 'lo', '-p', '-f', FPROBE_FILTER, '-q', '20000', '-B', '16384', '-s', '1', '-d', '1', '-e', '300', '-l', '2', '-n', '5', `${host}:${port}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const done = exited(child, 'fprobe', 60_000);
  try {
    // fprobe opens its capture asynchronously: wait until it says it is capturing.
    let log = '';
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const started = Date.now();
    while (!log.includes('collector #1') && Date.now() - started < 10_000) await sleep(50);
    await sleep(500);
    await promisify(execFile)('python3', [
      '-c',
      [
        'import socket, struct, time, sys',
        's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
        "s.bind(('lo', 0))",
        'd = open(sys.argv[1], "rb").read()',
        'i = n = 0',
        'while i < len(d):',
        '    l = struct.unpack(">I", d[i:i + 4])[0]',
        '    s.send(d[i + 4:i + 4 + l])',
        '    i += 4 + l',
        '    n += 1',
        '    if n % 20 == 0: time.sleep(0.002)',
      ].join('\n'),
      framesFile,
    ]);
    await sleep(1500);
  } finally {
    child.kill('SIGTERM');
    rmSync(framesFile, { force: true });
  }
  // fprobe exits 0 after "SIGTERM received. Emitting flows cache...".
  await done;
}
