/**
 * Test and benchmark tooling, exported as `@vigil/flow-decoder/testing` so service-level tests can
 * generate the same ground-truth traffic, run softflowd over it and build or mutate datagrams.
 * Not part of the decoding API.
 */
export { f, ipfix, rec, RecordWriter, v5Packet, v9 } from './datagram-builder';
export type { FieldDef, V5Record } from './datagram-builder';
export { mutate, seedDatagrams } from './mutation-corpus';
export type { Mutation } from './mutation-corpus';
export { frame, ipLength, writePcap, writeUdpPayloadPcap } from './pcap-writer';
export type { L4, PacketSpec } from './pcap-writer';
export { expectedFlows, flowKey, scenarioPackets, SCENARIO_START_US } from './scenario';
export type { ExpectedFlow } from './scenario';
export { runPmacctNfprobe } from './pmacct-export';
export type { PmacctRun } from './pmacct-export';
export { collectUdpDatagrams, lengthPrefixed, runSoftflowd, runSoftflowdTcp } from './softflowd-export';
export type { SoftflowdRun } from './softflowd-export';
export { tsharkExpectations } from './tshark-expectations';
export type { TsharkDatagram, TsharkExpectations, TsharkFlow } from './tshark-expectations';
