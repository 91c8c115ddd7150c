/**
 * A minimal libpcap (v2.4, Ethernet link type) writer used to build capture files with flows whose
 * every packet and byte is known, so that an exporter's NetFlow/IPFIX output can be checked exactly.
 */

export type L4 = 'tcp' | 'udp';

export interface PacketSpec {
  /** Capture time, microseconds since the Unix epoch. */
  tsUs: number;
  src: string;
  dst: string;
  proto: L4;
  sport: number;
  dport: number;
  /** TCP flags byte (FIN=1, SYN=2, RST=4, PSH=8, ACK=16). Ignored for UDP. */
  flags?: number;
  /** Transport payload length in bytes. */
  payload: number;
  /** IPv4 TOS / IPv6 traffic class. */
  tos?: number;
}

const TCP_HEADER = 20;
const UDP_HEADER = 8;

/** Bytes an exporter counts for the packet: the IP datagram length (IP header included). */
export function ipLength(p: PacketSpec): number {
  const l4 = p.proto === 'tcp' ? TCP_HEADER : UDP_HEADER;
  return (p.src.includes(':') ? 40 : 20) + l4 + p.payload;
}

function parseV4(addr: string): number[] {
  const parts = addr.split('.').map((x) => Number(x));
  if (parts.length !== 4 || parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) {
    throw new Error(`bad IPv4 address ${addr}`);
  }
  return parts;
}

function parseV6(addr: string): number[] {
  const [head = '', tail] = addr.split('::');
  const groups = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const fill = tail === undefined ? [] : new Array<number>(8 - h.length - t.length).fill(0);
  const all = [...h, ...fill, ...t];
  if (all.length !== 8) throw new Error(`bad IPv6 address ${addr}`);
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

function checksum(buf: Buffer, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (buf[i]! << 8) | (i + 1 < end ? buf[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Builds the Ethernet frame for one packet. */
export function frame(p: PacketSpec): Buffer {
  const v6 = p.src.includes(':');
  const l4len = (p.proto === 'tcp' ? TCP_HEADER : UDP_HEADER) + p.payload;
  const ipHeader = v6 ? 40 : 20;
  const buf = Buffer.alloc(14 + ipHeader + l4len);
  buf.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1], 0);
  buf.writeUInt16BE(v6 ? 0x86dd : 0x0800, 12);
  const ip = 14;
  const protoNum = p.proto === 'tcp' ? 6 : 17;
  if (v6) {
    buf.writeUInt32BE(((6 << 28) | ((p.tos ?? 0) << 20)) >>> 0, ip);
    buf.writeUInt16BE(l4len, ip + 4);
    buf[ip + 6] = protoNum;
    buf[ip + 7] = 64;
    buf.set(parseV6(p.src), ip + 8);
    buf.set(parseV6(p.dst), ip + 24);
  } else {
    buf[ip] = 0x45;
    buf[ip + 1] = p.tos ?? 0;
    buf.writeUInt16BE(ipHeader + l4len, ip + 2);
    buf.writeUInt16BE(0x4000, ip + 6);
    buf[ip + 8] = 64;
    buf[ip + 9] = protoNum;
    buf.set(parseV4(p.src), ip + 12);
    buf.set(parseV4(p.dst), ip + 16);
    buf.writeUInt16BE(checksum(buf, ip, ip + 20), ip + 10);
  }
  const l4 = ip + ipHeader;
  buf.writeUInt16BE(p.sport, l4);
  buf.writeUInt16BE(p.dport, l4 + 2);
  if (p.proto === 'tcp') {
    buf.writeUInt32BE(1, l4 + 4);
    buf.writeUInt32BE((p.flags ?? 0) & 0x10 ? 1 : 0, l4 + 8);
    buf[l4 + 12] = 5 << 4;
    buf[l4 + 13] = p.flags ?? 0;
    buf.writeUInt16BE(65535, l4 + 14);
  } else {
    buf.writeUInt16BE(l4len, l4 + 4);
  }
  return buf;
}

/** Serialises packets (sorted by time) into a pcap file image. */
export function writePcap(packets: readonly PacketSpec[]): Buffer {
  const sorted = [...packets].sort((a, b) => a.tsUs - b.tsUs);
  const frames = sorted.map(frame);
  const total = 24 + frames.reduce((n, f) => n + 16 + f.length, 0);
  const out = Buffer.alloc(total);
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(65535, 16);
  out.writeUInt32LE(1, 20);
  let off = 24;
  sorted.forEach((p, i) => {
    const f = frames[i]!;
    out.writeUInt32LE(Math.floor(p.tsUs / 1e6), off);
    out.writeUInt32LE(p.tsUs % 1e6, off + 4);
    out.writeUInt32LE(f.length, off + 8);
    out.writeUInt32LE(f.length, off + 12);
    f.copy(out, off + 16);
    off += 16 + f.length;
  });
  return out;
}

/**
 * Wraps UDP payloads (export datagrams) into a pcap so that an independent dissector such as tshark
 * can decode them. Source 127.0.0.2:9995, destination 127.0.0.1:`port`.
 */
export function writeUdpPayloadPcap(payloads: readonly Buffer[], port: number, startUs: number): Buffer {
  const frames = payloads.map((payload, i) => {
    const f = frame({ tsUs: startUs + i, src: '127.0.0.2', dst: '127.0.0.1', proto: 'udp', sport: 9995, dport: port, payload: payload.length });
    payload.copy(f, 14 + 20 + 8);
    return f;
  });
  const out = Buffer.alloc(24 + frames.reduce((n, f) => n + 16 + f.length, 0));
  out.writeUInt32LE(0xa1b2c3d4, 0);
  out.writeUInt16LE(2, 4);
  out.writeUInt16LE(4, 6);
  out.writeUInt32LE(262144, 16);
  out.writeUInt32LE(1, 20);
  let off = 24;
  frames.forEach((f, i) => {
    const ts = startUs + i;
    out.writeUInt32LE(Math.floor(ts / 1e6), off);
    out.writeUInt32LE(ts % 1e6, off + 4);
    out.writeUInt32LE(f.length, off + 8);
    out.writeUInt32LE(f.length, off + 12);
    f.copy(out, off + 16);
    off += 16 + f.length;
  });
  return out;
}
