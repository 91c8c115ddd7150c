/**
 * What the stored flows must equal: tshark's independent reading of the export the collector
 * received (record by record, counters multiplied by the sampling rate the export announced), and
 * the scenario's ground truth (directed totals per 5-tuple, from the packets themselves).
 */
import { splitIpfixMessages } from '@vigil/flow-decoder';
import { expectedFlows, type PacketSpec, type TsharkExpectations } from '@vigil/flow-decoder/testing';
import { tsharkExpectations } from '@vigil/flow-decoder/testing';
import { tupleKey, type StoredRecord } from './flow-pipeline';

/** One record as a comparable line: 5-tuple, counters (with reverse), times, rate. */
export function recordLine(r: Pick<StoredRecord, 'key' | 'bytes' | 'packets' | 'reverse_bytes' | 'reverse_packets' | 'flow_start_ms' | 'flow_end_ms' | 'sampling_rate'>): string {
  return `${r.key} ${r.bytes}B ${r.packets}p rev ${r.reverse_bytes}B ${r.reverse_packets}p ${r.flow_start_ms}..${r.flow_end_ms} x${r.sampling_rate}`;
}

/** tshark's reading of datagrams as record lines. */
export function tsharkRecords(t: TsharkExpectations): string[] {
  let rate = 1;
  const rates = t.datagrams.map((d) => (rate = d.sampling ?? rate));
  return t.flows.map((f) => {
    const r = rates[f.datagram] ?? 1;
    return recordLine({
      key: tupleKey(f.proto, f.src, f.sport, f.dst, f.dport),
      bytes: f.bytes * r,
      packets: f.packets * r,
      reverse_bytes: f.rbytes * r,
      reverse_packets: f.rpackets * r,
      flow_start_ms: f.start_ms,
      flow_end_ms: f.end_ms,
      sampling_rate: r,
    });
  });
}

let scratch = 0;
/** tshark over UDP datagrams (cflow dissector). */
export function tsharkOfDatagrams(datagrams: readonly Buffer[]): TsharkExpectations {
  return tsharkExpectations(datagrams, `/tmp/vigil-tshark-${process.pid}-${scratch++}.pcap`);
}

/** tshark over an IPFIX-over-TCP byte stream: split at the message lengths, then as datagrams. */
export function tsharkOfStream(stream: Buffer): TsharkExpectations {
  const split = splitIpfixMessages(stream);
  if (split.error !== null || split.truncatedBytes !== 0) throw new Error('the recorded TCP stream is not whole IPFIX messages');
  return tsharkOfDatagrams(split.messages);
}

export interface Totals {
  bytes: number;
  packets: number;
}

/** Directed totals per 5-tuple: a record's forward counters, plus its reverse counters under the reversed tuple. */
export function directedTotals(records: readonly StoredRecord[]): Map<string, Totals> {
  const out = new Map<string, Totals>();
  const add = (key: string, bytes: number, packets: number) => {
    const t = out.get(key) ?? { bytes: 0, packets: 0 };
    t.bytes += bytes;
    t.packets += packets;
    out.set(key, t);
  };
  for (const r of records) {
    add(r.key, r.bytes, r.packets);
    if (r.reverse_packets > 0) {
      const [proto, src, , dst] = r.key.split(' ');
      const [s, sport] = splitEndpoint(src!);
      const [d, dport] = splitEndpoint(dst!);
      add(tupleKey(Number(proto), d, dport, s, sport), r.reverse_bytes, r.reverse_packets);
    }
  }
  return out;
}

function splitEndpoint(endpoint: string): [string, number] {
  const i = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, i), Number(endpoint.slice(i + 1))];
}

/** The scenario's directed totals per 5-tuple (optionally without IPv6, which NetFlow v5 cannot carry). */
export function groundTruth(packets: readonly PacketSpec[], ipv4Only: boolean): Map<string, Totals> {
  const out = new Map<string, Totals>();
  for (const f of expectedFlows(packets).values()) {
    if (ipv4Only && f.src_addr.includes(':')) continue;
    out.set(tupleKey(f.protocol, f.src_addr, f.src_port, f.dst_addr, f.dst_port), { bytes: f.bytes, packets: f.packets });
  }
  return out;
}

/** Ground truth per source address (what the source rollup must hold). */
export function truthPerSource(truth: Map<string, Totals>): Map<string, { bytes: number; packets: number; flows: number }> {
  const out = new Map<string, { bytes: number; packets: number; flows: number }>();
  for (const [key, t] of truth) {
    const src = splitEndpoint(key.split(' ')[1]!)[0];
    const s = out.get(src) ?? { bytes: 0, packets: 0, flows: 0 };
    s.bytes += t.bytes;
    s.packets += t.packets;
    s.flows += 1;
    out.set(src, s);
  }
  return out;
}
