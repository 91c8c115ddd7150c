/**
 * Turns a filled accumulator into a DecodedFlow (data records) or into remembered exporter state
 * (options records): which address family, which counter wins when a template has several, how
 * timestamps are resolved, and how sampling multiplies the counters.
 */
import type { DecodedFlow } from './decoded-flow';
import type { FlowAccumulator } from './flow-accumulator';
import { ipv4Text, ipv6IsZero, ipv6Text } from './ip-text';
import { samplingRateOf } from './sampling';
import { DomainState } from './template-cache';
import { initRelativeToUnixMs, uptimeToUnixMs } from './timestamps';

/** Per-datagram state the sinks read, and the counters they bump. Reused across datagrams. */
export class RecordContext {
  version: 5 | 9 | 10 = 10;
  domain: DomainState = new DomainState(10, 0, 0);
  sequence = 0;
  exportMs = 0;
  /** NetFlow v5/v9 header sysUptime; -1 for IPFIX. */
  sysUptimeMs = -1;
  maxSamplers = 64;
  out: DecodedFlow[] = [];
  flowRecords = 0;
  optionsRecords = 0;
  noAddresses = 0;
  timeDefaulted = 0;
  samplerLimit = 0;
}

function firstPresent(a: number, b: number, c: number, d: number): number {
  return a >= 0 ? a : b >= 0 ? b : c >= 0 ? c : d >= 0 ? d : 0;
}

function uptimeMs(uptime: number, init: number, ctx: RecordContext): number {
  if (uptime < 0) return -1;
  if (init >= 0) return initRelativeToUnixMs(uptime, init, ctx.exportMs);
  if (ctx.sysUptimeMs >= 0) return uptimeToUnixMs(uptime, ctx.sysUptimeMs, ctx.exportMs);
  return -1;
}

function deltaMs(deltaUs: number, exportMs: number): number {
  return deltaUs < 0 ? -1 : Math.floor((exportMs * 1000 - deltaUs) / 1000);
}

function scaled(v: number, rate: number): number {
  return rate === 1 ? v : Math.round(v * rate);
}

/** Sink for data records: appends a normalized flow to `ctx.out`. */
export function emitFlow(acc: FlowAccumulator, buf: Uint8Array, ctx: RecordContext): void {
  ctx.flowRecords++;
  const has4 = acc.src4 >= 0 && acc.dst4 >= 0;
  const has6 = acc.src6 >= 0 && acc.dst6 >= 0;
  const v6 = has6 && (!has4 || acc.ipVersion === 6 || (acc.ipVersion !== 4 && acc.src4 === 0 && acc.dst4 === 0));
  if (!has4 && !v6) {
    ctx.noAddresses++;
    return;
  }
  let nextHop: string | null = null;
  if (v6) {
    const nh = acc.nextHop6 >= 0 && !ipv6IsZero(buf, acc.nextHop6) ? acc.nextHop6 : acc.bgpNextHop6;
    if (nh >= 0 && !ipv6IsZero(buf, nh)) nextHop = ipv6Text(buf, nh);
  } else {
    const nh = acc.nextHop4 > 0 ? acc.nextHop4 : acc.bgpNextHop4;
    if (nh > 0) nextHop = ipv4Text(nh);
  }

  const domain = ctx.domain;
  const rate = domain.sampling.rateFor(acc);

  const init = acc.systemInitMs >= 0 ? acc.systemInitMs : domain.initMs;
  let start =
    acc.startMs >= 0 ? acc.startMs : acc.startDeltaUs >= 0 ? deltaMs(acc.startDeltaUs, ctx.exportMs) : uptimeMs(acc.startUptime, init, ctx);
  let end = acc.endMs >= 0 ? acc.endMs : acc.endDeltaUs >= 0 ? deltaMs(acc.endDeltaUs, ctx.exportMs) : uptimeMs(acc.endUptime, init, ctx);
  const duration = acc.durationMs >= 0 ? acc.durationMs : acc.durationUs >= 0 ? Math.floor(acc.durationUs / 1000) : -1;
  if (duration >= 0) {
    if (start < 0 && end >= 0) start = end - duration;
    else if (end < 0 && start >= 0) end = start + duration;
  }
  if (start < 0 && end < 0) {
    if (acc.observationMs >= 0) start = end = acc.observationMs;
    else {
      start = end = ctx.exportMs;
      ctx.timeDefaulted++;
    }
  } else if (start < 0) start = end;
  else if (end < 0) end = start;

  ctx.out.push({
    version: ctx.version,
    observation_domain: domain.id,
    sequence: ctx.sequence,
    flow_start_ms: start,
    flow_end_ms: end,
    ip_version: v6 ? 6 : 4,
    src_addr: v6 ? ipv6Text(buf, acc.src6) : ipv4Text(acc.src4),
    dst_addr: v6 ? ipv6Text(buf, acc.dst6) : ipv4Text(acc.dst4),
    src_port: acc.srcPort >= 0 ? acc.srcPort : 0,
    dst_port: acc.dstPort >= 0 ? acc.dstPort : 0,
    protocol: acc.protocol >= 0 ? acc.protocol : 0,
    bytes: scaled(firstPresent(acc.octets, acc.octetsTotal, acc.octetsPost, acc.initiatorOctets), rate),
    packets: scaled(firstPresent(acc.packets, acc.packetsTotal, acc.packetsPost, acc.initiatorPackets), rate),
    sampling_rate: rate,
    tcp_flags: acc.tcpFlags >= 0 ? acc.tcpFlags : 0,
    tos: acc.tos >= 0 ? acc.tos : 0,
    input_if: acc.inputIf >= 0 ? acc.inputIf : 0,
    output_if: acc.outputIf >= 0 ? acc.outputIf : 0,
    src_as: acc.srcAs >= 0 ? acc.srcAs : 0,
    dst_as: acc.dstAs >= 0 ? acc.dstAs : 0,
    src_mask: acc.srcMask >= 0 ? acc.srcMask : 0,
    dst_mask: acc.dstMask >= 0 ? acc.dstMask : 0,
    next_hop: nextHop,
    flow_direction: acc.flowDirection >= 0 ? acc.flowDirection : null,
    biflow_direction: acc.biflowDirection >= 0 ? acc.biflowDirection : null,
    reverse_bytes: scaled(firstPresent(acc.revOctets, acc.revOctetsTotal, acc.responderOctets, -1), rate),
    reverse_packets: scaled(firstPresent(acc.revPackets, acc.revPacketsTotal, acc.responderPackets, -1), rate),
  });
}

/** Sink for options records: remembers sampling rates and the system init time of the domain. */
export function applyOptions(acc: FlowAccumulator, _buf: Uint8Array, ctx: RecordContext): void {
  ctx.optionsRecords++;
  const domain = ctx.domain;
  const rate = samplingRateOf(acc);
  if (rate > 0 && !domain.sampling.learn(rate, acc.samplerId, ctx.maxSamplers)) ctx.samplerLimit++;
  if (acc.systemInitMs >= 0) domain.initMs = acc.systemInitMs;
}
