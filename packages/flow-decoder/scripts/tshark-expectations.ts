/**
 * Independent reading of export datagrams: tshark's cflow dissector decodes them and its JSON output is
 * reduced to the fields the decoder must reproduce. Used only when (re)generating fixtures.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { writeUdpPayloadPcap } from './pcap-writer';

/** One flow record as tshark read it; counters are raw (not multiplied by the sampling rate). */
export interface TsharkFlow {
  datagram: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  proto: number;
  bytes: number;
  packets: number;
  rbytes: number;
  rpackets: number;
  start_ms: number;
  end_ms: number;
  tcp_flags: number;
  tos: number;
}

export interface TsharkDatagram {
  version: number;
  sequence: number;
  domain: number;
  /** Sampling rate announced in this datagram (v5 header or options data), if any. */
  sampling: number | null;
}

export interface TsharkExpectations {
  datagrams: TsharkDatagram[];
  flows: TsharkFlow[];
}

type Json = string | Json[] | { [k: string]: Json };

const first = (v: Json | undefined): string | undefined => (Array.isArray(v) ? first(v[0]) : typeof v === 'string' ? v : undefined);
const second = (v: Json | undefined): string | undefined => (Array.isArray(v) ? first(v[1]) : undefined);
const num = (v: string | undefined): number => (v === undefined ? 0 : v.startsWith('0x') ? parseInt(v, 16) : Number(v));

/** "1.599000000" → 1599 (exact, without floating point). */
function relMs(s: string): number {
  const [secs = '0', frac = ''] = s.split('.');
  return Number(secs) * 1000 + Number((frac + '000').slice(0, 3));
}

/** "Mar  1, 2024 12:00:00.000200999 UTC" → epoch milliseconds (floored). */
function absMs(s: string): number {
  const m = /^(.*\d\d:\d\d:\d\d)(?:\.(\d+))? UTC$/.exec(s.replace(/\s+/g, ' ').trim());
  if (m === null) throw new Error(`unexpected tshark time ${s}`);
  return Date.parse(`${m[1]} UTC`) + Number(((m[2] ?? '') + '000').slice(0, 3));
}

export function tsharkExpectations(datagrams: readonly Buffer[], scratchPcap: string): TsharkExpectations {
  const port = 2055;
  writeFileSync(scratchPcap, writeUdpPayloadPcap(datagrams, port, 1_700_000_000_000_000));
  const out = execFileSync('tshark', ['-r', scratchPcap, '-d', `udp.port==${port},cflow`, '-T', 'json', '--no-duplicate-keys'], {
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString();
  const frames = JSON.parse(out) as { _source: { layers: { cflow?: Record<string, Json> } } }[];
  const result: TsharkExpectations = { datagrams: [], flows: [] };
  let initMs: number | null = null;
  frames.forEach((frame, index) => {
    const c = frame._source.layers.cflow;
    if (c === undefined) throw new Error(`tshark did not decode datagram ${index}`);
    const version = num(first(c['cflow.version']));
    const ts = c['cflow.timestamp_tree'] as Record<string, Json> | undefined;
    const unixSecs = num(first(ts?.['cflow.unix_secs'] ?? ts?.['cflow.exporttime']));
    const exportMs = unixSecs * 1000 + Math.floor(num(first(ts?.['cflow.unix_nsecs'])) / 1e6);
    const sysUptime = relMs(first(c['cflow.sysuptime']) ?? '0');
    const dg: TsharkDatagram = {
      version,
      sequence: num(first(c['cflow.sequence'])),
      domain:
        version === 5
          ? (num(first(c['cflow.engine_type'])) << 8) | num(first(c['cflow.engine_id']))
          : num(first(c['cflow.od_id'] ?? c['cflow.source_id'])),
      sampling: version === 5 && num(first(c['cflow.samplerate'])) > 0 ? num(first(c['cflow.samplerate'])) : null,
    };
    const records: Record<string, Json>[] = [];
    for (const [key, value] of Object.entries(c)) {
      if (key.startsWith('pdu ')) records.push(value as Record<string, Json>);
      if ((key.startsWith('Set ') || key.startsWith('FlowSet ')) && key.includes('flows)')) {
        for (const [k, v] of Object.entries(value as Record<string, Json>)) if (k.startsWith('Flow ')) records.push(v as Record<string, Json>);
      }
    }
    for (const r of records) {
      if (r['cflow.sys_init_time'] !== undefined) initMs = absMs(first(r['cflow.sys_init_time'])!);
      if (r['cflow.sampling_interval'] !== undefined) dg.sampling = num(first(r['cflow.sampling_interval']));
      if (r['cflow.sampling_packet_interval'] !== undefined) {
        const interval = num(first(r['cflow.sampling_packet_interval']));
        const space = num(first(r['cflow.sampling_packet_space']));
        dg.sampling = interval > 0 ? (interval + space) / interval : null;
      }
      const src = first(r['cflow.srcaddr'] ?? r['cflow.srcaddrv6']);
      if (src === undefined) continue;
      const times = (r['cflow.timedelta_tree'] ?? {}) as Record<string, Json>;
      const time = (abs: string, rel: string): number => {
        const a = first(times[abs]);
        const relative = a === undefined ? first(times[rel]) : absMs(a) === 0 ? '0' : undefined;
        if (relative === undefined) return absMs(a!);
        const up = relMs(relative);
        if (version === 10) {
          if (initMs === null) throw new Error('IPFIX uptime without systemInitTimeMilliseconds');
          return initMs + up;
        }
        return exportMs - (sysUptime - up);
      };
      result.flows.push({
        datagram: index,
        src,
        dst: first(r['cflow.dstaddr'] ?? r['cflow.dstaddrv6'])!,
        sport: num(first(r['cflow.srcport'])),
        dport: num(first(r['cflow.dstport'])),
        proto: num(first(r['cflow.protocol'])),
        bytes: num(first(r['cflow.octets'])),
        packets: num(first(r['cflow.packets'])),
        rbytes: num(second(r['cflow.octets'])),
        rpackets: num(second(r['cflow.packets'])),
        start_ms: time('cflow.abstimestart', 'cflow.timestart'),
        end_ms: time('cflow.abstimeend', 'cflow.timeend'),
        tcp_flags: num(first(r['cflow.tcpflags'])),
        tos: num(first(r['cflow.tos'])),
      });
    }
    result.datagrams.push(dg);
  });
  return result;
}
