/**
 * pmacct's nfprobe (NetFlow v9 and IPFIX, reading the generated pcap) and fprobe (NetFlow v5)
 * → collector → Kafka → store → PostgreSQL. Stored records must equal tshark's reading of the export,
 * and the stored directed totals per 5-tuple the packets themselves.
 *
 * fprobe has no way to read a pcap file (`-i` is its only input; its `-r` sets real-time priority),
 * so the scenario's Ethernet frames are injected onto the loopback interface while fprobe captures
 * there, filtered to the scenario's networks (see exporters.ts). Its flow times are therefore capture
 * times; counts and bytes are the packets'.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { scenarioPackets, SCENARIO_START_US, writePcap, type PacketSpec } from '@vigil/flow-decoder/testing';
import { directedTotals, groundTruth, recordLine, truthPerSource, tsharkOfDatagrams, tsharkRecords } from './export-expectations';
import { relayUdp } from './exporter-relay';
import { fprobeOnLoopback, pmacctNfprobe } from './exporters';
import { startFlowPipeline, type FlowPipeline } from './flow-pipeline';

function recentScenario(): PacketSpec[] {
  const shift = Math.floor((Date.now() - 60_000) / 1000) * 1_000_000 - SCENARIO_START_US;
  return scenarioPackets().map((p) => ({ ...p, tsUs: p.tsUs + shift }));
}

const sorted = <V>(m: Map<string, V>) => Object.fromEntries([...m].sort());

describe('pmacct nfprobe and fprobe exports, stored by Vigil', () => {
  let p: FlowPipeline;
  const packets = recentScenario();
  const pcap = `/tmp/vigil-probes-${process.pid}.pcap`;
  before(async () => {
    writeFileSync(pcap, writePcap(packets));
    p = await startFlowPipeline();
  });
  after(async () => {
    rmSync(pcap, { force: true });
    await p?.stop();
  });

  for (const version of [9, 10] as const) {
    it(`pmacct nfprobe ${version === 9 ? 'NetFlow v9' : 'IPFIX'}`, async () => {
      const from = `127.0.2.${version}`;
      const project = await p.projectWithExporter(`pmacct-${version}`, `${from}/32`);
      const tshark = tsharkOfDatagrams(await relayUdp(from, p.udpPort, (host, port) => pmacctNfprobe(pcap, version, host, port)));
      assert.ok(tshark.flows.length > 0);
      const stored = await p.storedRecords(project, tshark.flows.length);
      assert.deepEqual(stored.map(recordLine).sort(), tsharkRecords(tshark).sort());
      const truth = groundTruth(packets, false);
      assert.deepEqual(sorted(directedTotals(stored)), sorted(truth));
      assert.deepEqual(sorted(await p.rollupSources(project)), sorted(truthPerSource(truth)));
    });
  }

  it('fprobe NetFlow v5 (live capture of the same packets on lo)', async () => {
    const from = '127.0.2.5';
    const project = await p.projectWithExporter('fprobe', `${from}/32`);
    const v4 = packets.filter((x) => !x.src.includes(':'));
    const tshark = tsharkOfDatagrams(await relayUdp(from, p.udpPort, (host, port) => fprobeOnLoopback(v4, host, port)));
    const stored = await p.storedRecords(project, tshark.flows.length);
    assert.deepEqual(stored.map(recordLine).sort(), tsharkRecords(tshark).sort());
    assert.ok(stored.every((r) => r.version === 5));
    const truth = groundTruth(packets, true);
    assert.deepEqual(sorted(directedTotals(stored)), sorted(truth));
    assert.deepEqual(sorted(await p.rollupSources(project)), sorted(truthPerSource(truth)));
  });
});
