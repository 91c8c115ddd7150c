/**
 * What each understood Information Element means: which accumulator slot it fills and how its bytes
 * are read. NetFlow v9 field types 1-127 and the vendor types used by Cisco NSEL (152/153, 231/232,
 * 298/299, 323) coincide with the IANA IPFIX registry, so one table serves both. Anything not listed
 * here (and every enterprise element other than RFC 5103 reverse elements) is skipped by its length.
 */
import type { Slot } from './flow-accumulator';

/** How a field's bytes become a slot value. */
export type ReadKind =
  /** Unsigned big-endian integer of 1..8 bytes (reduced-size encoding allowed). */
  | 'uint'
  /** 4-byte IPv4 address, kept as an unsigned 32-bit integer. */
  | 'ipv4'
  /** 16-byte IPv6 address, kept as the offset of its first byte. */
  | 'ipv6'
  /** dateTimeSeconds: 4-byte Unix seconds, kept as ms. */
  | 'seconds'
  /** dateTimeMicroseconds / dateTimeNanoseconds: 8-byte NTP timestamp, kept as Unix ms. */
  | 'ntp';

export interface ElementMeaning {
  slot: Slot;
  kind: ReadKind;
  /** For start/end time elements: finer resolutions win when a template carries several. */
  timePrecision?: number;
}

/** RFC 5103: reverse Information Elements are the forward ones under this Private Enterprise Number. */
export const REVERSE_PEN = 29305;

const IANA: ReadonlyMap<number, ElementMeaning> = new Map<number, ElementMeaning>([
  [1, { slot: 'octets', kind: 'uint' }],
  [2, { slot: 'packets', kind: 'uint' }],
  [4, { slot: 'protocol', kind: 'uint' }],
  [5, { slot: 'tos', kind: 'uint' }],
  [6, { slot: 'tcpFlags', kind: 'uint' }],
  [7, { slot: 'srcPort', kind: 'uint' }],
  [8, { slot: 'src4', kind: 'ipv4' }],
  [9, { slot: 'srcMask', kind: 'uint' }],
  [10, { slot: 'inputIf', kind: 'uint' }],
  [11, { slot: 'dstPort', kind: 'uint' }],
  [12, { slot: 'dst4', kind: 'ipv4' }],
  [13, { slot: 'dstMask', kind: 'uint' }],
  [14, { slot: 'outputIf', kind: 'uint' }],
  [15, { slot: 'nextHop4', kind: 'ipv4' }],
  [16, { slot: 'srcAs', kind: 'uint' }],
  [17, { slot: 'dstAs', kind: 'uint' }],
  [18, { slot: 'bgpNextHop4', kind: 'ipv4' }],
  [21, { slot: 'endUptime', kind: 'uint' }],
  [22, { slot: 'startUptime', kind: 'uint' }],
  [23, { slot: 'octetsPost', kind: 'uint' }],
  [24, { slot: 'packetsPost', kind: 'uint' }],
  [27, { slot: 'src6', kind: 'ipv6' }],
  [28, { slot: 'dst6', kind: 'ipv6' }],
  [29, { slot: 'srcMask', kind: 'uint' }],
  [30, { slot: 'dstMask', kind: 'uint' }],
  [34, { slot: 'samplingInterval', kind: 'uint' }],
  [48, { slot: 'samplerId', kind: 'uint' }],
  [50, { slot: 'samplerRandomInterval', kind: 'uint' }],
  [60, { slot: 'ipVersion', kind: 'uint' }],
  [61, { slot: 'flowDirection', kind: 'uint' }],
  [62, { slot: 'nextHop6', kind: 'ipv6' }],
  [63, { slot: 'bgpNextHop6', kind: 'ipv6' }],
  [85, { slot: 'octetsTotal', kind: 'uint' }],
  [86, { slot: 'packetsTotal', kind: 'uint' }],
  [150, { slot: 'startMs', kind: 'seconds', timePrecision: 1 }],
  [151, { slot: 'endMs', kind: 'seconds', timePrecision: 1 }],
  [152, { slot: 'startMs', kind: 'uint', timePrecision: 2 }],
  [153, { slot: 'endMs', kind: 'uint', timePrecision: 2 }],
  [154, { slot: 'startMs', kind: 'ntp', timePrecision: 3 }],
  [155, { slot: 'endMs', kind: 'ntp', timePrecision: 3 }],
  [156, { slot: 'startMs', kind: 'ntp', timePrecision: 4 }],
  [157, { slot: 'endMs', kind: 'ntp', timePrecision: 4 }],
  [158, { slot: 'startDeltaUs', kind: 'uint' }],
  [159, { slot: 'endDeltaUs', kind: 'uint' }],
  [160, { slot: 'systemInitMs', kind: 'uint' }],
  [161, { slot: 'durationMs', kind: 'uint' }],
  [162, { slot: 'durationUs', kind: 'uint' }],
  [231, { slot: 'initiatorOctets', kind: 'uint' }],
  [232, { slot: 'responderOctets', kind: 'uint' }],
  [239, { slot: 'biflowDirection', kind: 'uint' }],
  [298, { slot: 'initiatorPackets', kind: 'uint' }],
  [299, { slot: 'responderPackets', kind: 'uint' }],
  [302, { slot: 'samplerId', kind: 'uint' }],
  [305, { slot: 'packetInterval', kind: 'uint' }],
  [306, { slot: 'packetSpace', kind: 'uint' }],
  [309, { slot: 'samplingSize', kind: 'uint' }],
  [310, { slot: 'samplingPopulation', kind: 'uint' }],
  [323, { slot: 'observationMs', kind: 'uint' }],
]);

const REVERSE: ReadonlyMap<number, ElementMeaning> = new Map<number, ElementMeaning>([
  [1, { slot: 'revOctets', kind: 'uint' }],
  [2, { slot: 'revPackets', kind: 'uint' }],
  [85, { slot: 'revOctetsTotal', kind: 'uint' }],
  [86, { slot: 'revPacketsTotal', kind: 'uint' }],
]);

/** Byte lengths each read kind accepts; a field of another length is skipped. */
export function lengthFits(kind: ReadKind, length: number): boolean {
  switch (kind) {
    case 'uint':
      return length >= 1 && length <= 8;
    case 'ipv4':
    case 'seconds':
      return length === 4;
    case 'ipv6':
      return length === 16;
    case 'ntp':
      return length === 8;
  }
}

/** The meaning of element `id` under enterprise `pen` (0 for IANA / NetFlow v9), if understood. */
export function elementMeaning(pen: number, id: number): ElementMeaning | undefined {
  if (pen === 0) return IANA.get(id);
  if (pen === REVERSE_PEN) return REVERSE.get(id);
  return undefined;
}
