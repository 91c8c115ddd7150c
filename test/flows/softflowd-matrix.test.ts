/**
 * softflowd → collector → Kafka → store → PostgreSQL, for every export mode softflowd 1.1.0 has:
 * NetFlow v5, v9, IPFIX (UDP and `-P tcp`), each IPFIX time format (`-A sec|milli|micro|nano`),
 * biflows (`-b`) and packet sampling (`-s 10`). The pcap is generated here (port scan, large
 * transfer, DNS chatter, IPv6), so the flows it holds are known exactly. For each mode:
 *
 * - the stored records equal tshark's independent reading of the very bytes softflowd sent (5-tuple,
 *   bytes and packets with the announced sampling rate applied, reverse counters, start and end);
 * - unsampled, the stored directed totals per 5-tuple equal the packets in the pcap, and the
 *   per-source rollups equal them too.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { scenarioPackets, SCENARIO_START_US, writePcap, type PacketSpec } from '@vigil/flow-decoder/testing';
import { directedTotals, groundTruth, recordLine, truthPerSource, tsharkOfDatagrams, tsharkOfStream, tsharkRecords } from './export-expectations';
import { relayTcp, relayUdp } from './exporter-relay';
import { softflowd } from './exporters';
import { startFlowPipeline, type FlowPipeline } from './flow-pipeline';

/** The scenario moved to a minute ago, so the flows fall inside the store's retention. */
function recentScenario(): PacketSpec[] {
  const shift = Math.floor((Date.now() - 60_000) / 1000) * 1_000_000 - SCENARIO_START_US;
  return scenarioPackets().map((p) => ({ ...p, tsUs: p.tsUs + shift }));
}

const MODES: ReadonlyArray<{ name: string; args: string[]; tcp?: boolean; sampled?: boolean; v5?: boolean }> = [
  { name: 'NetFlow v5', args: ['-v', '5'], v5: true },
  { name: 'NetFlow v9', args: ['-v', '9'] },
  { name: 'IPFIX', args: ['-v', '10'] },
  { name: 'IPFIX over TCP (-P tcp)', args: ['-v', '10', '-P', 'tcp'], tcp: true },
  { name: 'IPFIX -A sec', args: ['-v', '10', '-A', 'sec'] },
  { name: 'IPFIX -A milli', args: ['-v', '10', '-A', 'milli'] },
  { name: 'IPFIX -A micro', args: ['-v', '10', '-A', 'micro'] },
  { name: 'IPFIX -A nano', args: ['-v', '10', '-A', 'nano'] },
  { name: 'IPFIX biflows (-b)', args: ['-v', '10', '-b'] },
  { name: 'NetFlow v5 sampled (-s 10)', args: ['-v', '5', '-s', '10'], sampled: true, v5: true },
  { name: 'NetFlow v9 sampled (-s 10)', args: ['-v', '9', '-s', '10'], sampled: true },
  { name: 'IPFIX sampled (-s 10)', args: ['-v', '10', '-s', '10'], sampled: true },
];

describe('softflowd export modes, stored by Vigil', () => {
  let p: FlowPipeline;
  const packets = recentScenario();
  const pcap = `/tmp/s${(process.pid % 1_000_000).toString(36)}.pcap`; // at most 15 characters
  before(async () => {
    writeFileSync(pcap, writePcap(packets));
    p = await startFlowPipeline();
  });
  after(async () => {
    rmSync(pcap, { force: true });
    await p?.stop();
  });

  MODES.forEach((mode, i) => {
    it(mode.name, async () => {
      const from = `127.0.1.${i + 1}`;
      const project = await p.projectWithExporter(`softflowd-${i}`, `${from}/32`);
      const tshark = mode.tcp
        ? tsharkOfStream(Buffer.concat(await relayTcp(from, p.tcpPort, (host, port) => softflowd(pcap, mode.args, host, port))))
        : tsharkOfDatagrams(await relayUdp(from, p.udpPort, (host, port) => softflowd(pcap, mode.args, host, port)));
      assert.ok(tshark.flows.length > 0, 'softflowd exported flows');

      const stored = await p.storedRecords(project, tshark.flows.length);
      assert.deepEqual(stored.map(recordLine).sort(), tsharkRecords(tshark).sort(), 'stored records = tshark reading of the export');
      assert.ok(stored.every((r) => r.exporter === from));

      if (mode.sampled) {
        // One packet in ten was counted and scaled back up: every stored counter is a multiple of 10.
        assert.ok(stored.every((r) => r.sampling_rate === 10 && r.bytes % 10 === 0 && r.packets % 10 === 0));
        return;
      }
      const truth = groundTruth(packets, mode.v5 === true);
      assert.deepEqual(Object.fromEntries([...directedTotals(stored)].sort()), Object.fromEntries([...truth].sort()), 'directed totals per 5-tuple = the pcap');
      assert.deepEqual(Object.fromEntries([...(await p.rollupSources(project))].sort()), Object.fromEntries([...truthPerSource(truth)].sort()), 'source rollups = the pcap');
    });
  });
});
