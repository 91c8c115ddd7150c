/**
 * The fields one record decoder fills before the record is normalized. One instance is reused for
 * every record; every slot is a number and -1 means "not in this record" (all real values are
 * unsigned). IPv6 slots hold the byte offset of the 16-byte address in the record's buffer, so no
 * field read allocates.
 */
export class FlowAccumulator {
  src4 = -1;
  dst4 = -1;
  nextHop4 = -1;
  bgpNextHop4 = -1;
  src6 = -1;
  dst6 = -1;
  nextHop6 = -1;
  bgpNextHop6 = -1;
  srcPort = -1;
  dstPort = -1;
  protocol = -1;
  tcpFlags = -1;
  tos = -1;
  inputIf = -1;
  outputIf = -1;
  srcAs = -1;
  dstAs = -1;
  srcMask = -1;
  dstMask = -1;
  ipVersion = -1;
  octets = -1;
  packets = -1;
  octetsTotal = -1;
  packetsTotal = -1;
  octetsPost = -1;
  packetsPost = -1;
  initiatorOctets = -1;
  responderOctets = -1;
  initiatorPackets = -1;
  responderPackets = -1;
  revOctets = -1;
  revPackets = -1;
  revOctetsTotal = -1;
  revPacketsTotal = -1;
  flowDirection = -1;
  biflowDirection = -1;
  /** Absolute times in Unix ms, from the seconds/milli/micro/nanosecond elements. */
  startMs = -1;
  endMs = -1;
  /** Milliseconds of system uptime (v9 FIRST/LAST_SWITCHED, IPFIX flowStart/EndSysUpTime). */
  startUptime = -1;
  endUptime = -1;
  startDeltaUs = -1;
  endDeltaUs = -1;
  durationMs = -1;
  durationUs = -1;
  systemInitMs = -1;
  observationMs = -1;
  samplingInterval = -1;
  samplerRandomInterval = -1;
  packetInterval = -1;
  packetSpace = -1;
  samplingSize = -1;
  samplingPopulation = -1;
  samplerId = -1;

  reset(): void {
    this.src4 = -1;
    this.dst4 = -1;
    this.nextHop4 = -1;
    this.bgpNextHop4 = -1;
    this.src6 = -1;
    this.dst6 = -1;
    this.nextHop6 = -1;
    this.bgpNextHop6 = -1;
    this.srcPort = -1;
    this.dstPort = -1;
    this.protocol = -1;
    this.tcpFlags = -1;
    this.tos = -1;
    this.inputIf = -1;
    this.outputIf = -1;
    this.srcAs = -1;
    this.dstAs = -1;
    this.srcMask = -1;
    this.dstMask = -1;
    this.ipVersion = -1;
    this.octets = -1;
    this.packets = -1;
    this.octetsTotal = -1;
    this.packetsTotal = -1;
    this.octetsPost = -1;
    this.packetsPost = -1;
    this.initiatorOctets = -1;
    this.responderOctets = -1;
    this.initiatorPackets = -1;
    this.responderPackets = -1;
    this.revOctets = -1;
    this.revPackets = -1;
    this.revOctetsTotal = -1;
    this.revPacketsTotal = -1;
    this.flowDirection = -1;
    this.biflowDirection = -1;
    this.startMs = -1;
    this.endMs = -1;
    this.startUptime = -1;
    this.endUptime = -1;
    this.startDeltaUs = -1;
    this.endDeltaUs = -1;
    this.durationMs = -1;
    this.durationUs = -1;
    this.systemInitMs = -1;
    this.observationMs = -1;
    this.samplingInterval = -1;
    this.samplerRandomInterval = -1;
    this.packetInterval = -1;
    this.packetSpace = -1;
    this.samplingSize = -1;
    this.samplingPopulation = -1;
    this.samplerId = -1;
  }
}

/** Names of the numeric slots a record decoder may write. */
export type Slot = Exclude<keyof FlowAccumulator, 'reset'>;
