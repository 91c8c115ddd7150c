/**
 * Runs pmacct's pmacctd with the nfprobe plugin over a pcap file (pcap_savefile) and collects the
 * NetFlow v9 or IPFIX datagrams it exports. pmacctd exits by itself at the end of the file.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { collectUdpDatagrams } from './softflowd-export';

export interface PmacctRun {
  pcapPath: string;
  version: 9 | 10;
  timeoutMs?: number;
}

export async function runPmacctNfprobe(run: PmacctRun): Promise<Buffer[]> {
  return collectUdpDatagrams(async (port) => {
    const conf = `/tmp/vfd-pmacct-${port}.conf`;
    writeFileSync(
      conf,
      [
        'daemonize: false',
        `pcap_savefile: ${run.pcapPath}`,
        'plugins: nfprobe',
        `nfprobe_receiver: 127.0.0.1:${port}`,
        `nfprobe_version: ${run.version}`,
        'aggregate: src_host, dst_host, src_port, dst_port, proto, tos',
        '',
      ].join('\n'),
    );
    const child = spawn('pmacctd', ['-f', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), run.timeoutMs ?? 20_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    rmSync(conf, { force: true });
    if (code !== 0) throw new Error(`pmacctd exited with ${code}: ${stderr}`);
  });
}
