/**
 * The traffic the exporter fixtures were generated from: a TCP port scan, a large TCP transfer, DNS
 * chatter and IPv6 traffic. Every packet is defined here, so the expected unidirectional flows
 * (5-tuple, packets, bytes, first and last packet time) are exact ground truth.
 */
import { ipLength, type PacketSpec } from './pcap-writer';

/** 2024-03-01T12:00:00Z in microseconds. */
export const SCENARIO_START_US = 1_709_294_400_000_000;

const FIN = 1;
const SYN = 2;
const RST = 4;
const PSH = 8;
const ACK = 16;

export interface ExpectedFlow {
  src_addr: string;
  dst_addr: string;
  src_port: number;
  dst_port: number;
  protocol: number;
  packets: number;
  bytes: number;
  first_ms: number;
  last_ms: number;
}

function portScan(t0: number): PacketSpec[] {
  const out: PacketSpec[] = [];
  const scanner = '192.0.2.10';
  const target = '198.51.100.20';
  const open = new Set([22, 80]);
  for (let port = 20; port < 60; port++) {
    const t = t0 + (port - 20) * 1_000;
    out.push({ tsUs: t, src: scanner, dst: target, proto: 'tcp', sport: 45000, dport: port, flags: SYN, payload: 0 });
    if (open.has(port)) {
      out.push({ tsUs: t + 200, src: target, dst: scanner, proto: 'tcp', sport: port, dport: 45000, flags: SYN | ACK, payload: 0 });
      out.push({ tsUs: t + 400, src: scanner, dst: target, proto: 'tcp', sport: 45000, dport: port, flags: RST, payload: 0 });
    } else {
      out.push({ tsUs: t + 200, src: target, dst: scanner, proto: 'tcp', sport: port, dport: 45000, flags: RST | ACK, payload: 0 });
    }
  }
  return out;
}

function largeTransfer(t0: number): PacketSpec[] {
  const out: PacketSpec[] = [];
  const c = '192.0.2.30';
  const s = '203.0.113.40';
  const cp = 50123;
  const sp = 443;
  const up = (dt: number, flags: number, payload: number): void => {
    out.push({ tsUs: t0 + dt, src: c, dst: s, proto: 'tcp', sport: cp, dport: sp, flags, payload, tos: 0x10 });
  };
  const down = (dt: number, flags: number, payload: number): void => {
    out.push({ tsUs: t0 + dt, src: s, dst: c, proto: 'tcp', sport: sp, dport: cp, flags, payload });
  };
  up(0, SYN, 0);
  down(500, SYN | ACK, 0);
  up(1_000, ACK, 0);
  up(1_500, PSH | ACK, 517);
  let t = 2_000;
  for (let i = 0; i < 1_500; i++) {
    down(t, ACK, 1_460);
    t += 1_000;
    if (i % 2 === 1) up(t - 500, ACK, 0);
  }
  down(t, FIN | PSH | ACK, 300);
  up(t + 500, FIN | ACK, 0);
  down(t + 1_000, ACK, 0);
  return out;
}

function dns(t0: number): PacketSpec[] {
  const out: PacketSpec[] = [];
  for (let i = 0; i < 12; i++) {
    const t = t0 + i * 50_000;
    const sport = 53001 + i;
    out.push({ tsUs: t, src: '192.0.2.50', dst: '192.0.2.53', proto: 'udp', sport, dport: 53, payload: 33 + i });
    out.push({ tsUs: t + 3_000, src: '192.0.2.53', dst: '192.0.2.50', proto: 'udp', sport: 53, dport: sport, payload: 97 + 2 * i });
  }
  return out;
}

function ipv6(t0: number): PacketSpec[] {
  const out: PacketSpec[] = [];
  const a = '2001:db8::10:1';
  const b = '2001:db8:0:1::20';
  out.push({ tsUs: t0, src: a, dst: b, proto: 'tcp', sport: 40000, dport: 443, flags: SYN, payload: 0 });
  out.push({ tsUs: t0 + 300, src: b, dst: a, proto: 'tcp', sport: 443, dport: 40000, flags: SYN | ACK, payload: 0 });
  for (let i = 0; i < 20; i++) {
    out.push({ tsUs: t0 + 1_000 + i * 2_000, src: a, dst: b, proto: 'tcp', sport: 40000, dport: 443, flags: PSH | ACK, payload: 100 + i });
    out.push({ tsUs: t0 + 2_000 + i * 2_000, src: b, dst: a, proto: 'tcp', sport: 443, dport: 40000, flags: PSH | ACK, payload: 1_000 });
  }
  out.push({ tsUs: t0 + 50_000, src: a, dst: b, proto: 'tcp', sport: 40000, dport: 443, flags: FIN | ACK, payload: 0 });
  out.push({ tsUs: t0 + 50_300, src: b, dst: a, proto: 'tcp', sport: 443, dport: 40000, flags: FIN | ACK, payload: 0 });
  for (let i = 0; i < 3; i++) {
    out.push({ tsUs: t0 + 60_000 + i * 10_000, src: 'fe80::1', dst: 'ff02::fb', proto: 'udp', sport: 5353, dport: 5353, payload: 64 });
  }
  return out;
}

/** Every packet of the scenario, in time order. */
export function scenarioPackets(): PacketSpec[] {
  const s = SCENARIO_START_US;
  return [...portScan(s), ...largeTransfer(s + 100_000), ...dns(s + 200_000), ...ipv6(s + 300_000)].sort(
    (x, y) => x.tsUs - y.tsUs,
  );
}

export function flowKey(f: Pick<ExpectedFlow, 'src_addr' | 'dst_addr' | 'src_port' | 'dst_port' | 'protocol'>): string {
  return `${f.protocol} ${f.src_addr} ${f.src_port} > ${f.dst_addr} ${f.dst_port}`;
}

/** The unidirectional flows of the scenario, keyed by `flowKey`. */
export function expectedFlows(packets: readonly PacketSpec[] = scenarioPackets()): Map<string, ExpectedFlow> {
  const flows = new Map<string, ExpectedFlow>();
  for (const p of packets) {
    const f: ExpectedFlow = {
      src_addr: p.src,
      dst_addr: p.dst,
      src_port: p.sport,
      dst_port: p.dport,
      protocol: p.proto === 'tcp' ? 6 : 17,
      packets: 1,
      bytes: ipLength(p),
      first_ms: Math.floor(p.tsUs / 1_000),
      last_ms: Math.floor(p.tsUs / 1_000),
    };
    const key = flowKey(f);
    const prev = flows.get(key);
    if (prev === undefined) flows.set(key, f);
    else {
      prev.packets += 1;
      prev.bytes += f.bytes;
      prev.last_ms = f.last_ms;
    }
  }
  return flows;
}
