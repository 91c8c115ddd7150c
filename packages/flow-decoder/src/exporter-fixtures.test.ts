/**
 * Real exporter output: softflowd 1.1.0 exported the scenario pcap (scripts/scenario.ts) as NetFlow
 * v5, v9 and IPFIX in several configurations, and pmacct 1.7.7's nfprobe as NetFlow v9 and IPFIX
 * (scripts/capture-fixtures.ts). Every decoded record must
 * equal tshark's independent reading of the same datagrams, and the flows must add up to the
 * scenario's ground truth.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { expectedFlows, flowKey, SCENARIO_START_US } from '../scripts/scenario';
import type { TsharkExpectations } from '../scripts/tshark-expectations';
import { createFlowDecoder, createIpfixStreamFramer, parseNetflowBody, type DecodedFlow } from './index';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const NOW = 1_709_294_500_000;

function load(name: string): { datagrams: Buffer[]; expected: TsharkExpectations } {
  const body = readFileSync(new URL(`${name}.netflow`, FIXTURES));
  const parsed = parseNetflowBody(body);
  assert.equal(parsed.error, null);
  const expected = JSON.parse(readFileSync(new URL(`${name}.tshark.json`, FIXTURES), 'utf8')) as TsharkExpectations;
  return { datagrams: parsed.datagrams, expected };
}

function decodeAll(datagrams: readonly Buffer[], codegen: boolean): { flows: DecodedFlow[]; perDatagram: DecodedFlow[][]; decoder: ReturnType<typeof createFlowDecoder> } {
  const decoder = createFlowDecoder({ codegen });
  const perDatagram = datagrams.map((d) => {
    const r = decoder.decode(d, '127.0.0.1:9995', NOW);
    assert.equal(r.rejected, null);
    assert.deepEqual(r.drops, {});
    assert.deepEqual(r.missingTemplates, []);
    return r.flows;
  });
  return { flows: perDatagram.flat(), perDatagram, decoder };
}

const truth = expectedFlows();
const SCENARIO_START_MS = Math.floor(SCENARIO_START_US / 1000);

const CONFIGS: readonly { name: string; version: 5 | 9 | 10; sampled: boolean; biflow: boolean; timeResolutionMs: number }[] = [
  { name: 'softflowd-v5', version: 5, sampled: false, biflow: false, timeResolutionMs: 1 },
  { name: 'softflowd-v5-sampled', version: 5, sampled: true, biflow: false, timeResolutionMs: 1 },
  // v9 headers carry whole export seconds only, so times may read up to 1 s early.
  { name: 'softflowd-v9', version: 9, sampled: false, biflow: false, timeResolutionMs: 1000 },
  { name: 'softflowd-v9-sampled', version: 9, sampled: true, biflow: false, timeResolutionMs: 1000 },
  { name: 'softflowd-ipfix', version: 10, sampled: false, biflow: false, timeResolutionMs: 1 },
  { name: 'softflowd-ipfix-biflow', version: 10, sampled: false, biflow: true, timeResolutionMs: 1 },
  { name: 'softflowd-ipfix-sec', version: 10, sampled: false, biflow: false, timeResolutionMs: 1000 },
  { name: 'softflowd-ipfix-milli', version: 10, sampled: false, biflow: false, timeResolutionMs: 1 },
  { name: 'softflowd-ipfix-micro', version: 10, sampled: false, biflow: false, timeResolutionMs: 1 },
  { name: 'softflowd-ipfix-nano', version: 10, sampled: false, biflow: false, timeResolutionMs: 1 },
  { name: 'softflowd-ipfix-sampled', version: 10, sampled: true, biflow: false, timeResolutionMs: 1 },
  { name: 'pmacct-v9', version: 9, sampled: false, biflow: false, timeResolutionMs: 1 },
  { name: 'pmacct-ipfix', version: 10, sampled: false, biflow: false, timeResolutionMs: 1 },
];

for (const cfg of CONFIGS) {
  describe(`exporter fixture ${cfg.name}`, () => {
    const { datagrams, expected } = load(cfg.name);

    for (const codegen of [true, false]) {
      it(`matches tshark record by record (${codegen ? 'generated code' : 'interpreter'})`, () => {
        const { flows, perDatagram } = decodeAll(datagrams, codegen);
        assert.equal(flows.length, expected.flows.length);
        const rateOf = (i: number): number => {
          // The rate announced most recently at or before datagram i.
          for (let k = i; k >= 0; k--) {
            const s = expected.datagrams[k]!.sampling;
            if (s !== null) return s;
          }
          return 1;
        };
        let index = 0;
        perDatagram.forEach((list, d) => {
          const header = expected.datagrams[d]!;
          for (const got of list) {
            const want = expected.flows[index++]!;
            assert.equal(want.datagram, d);
            const rate = rateOf(d);
            assert.deepEqual(
              {
                version: got.version,
                sequence: got.sequence,
                observation_domain: got.observation_domain,
                src_addr: got.src_addr,
                dst_addr: got.dst_addr,
                src_port: got.src_port,
                dst_port: got.dst_port,
                protocol: got.protocol,
                bytes: got.bytes,
                packets: got.packets,
                reverse_bytes: got.reverse_bytes,
                reverse_packets: got.reverse_packets,
                sampling_rate: got.sampling_rate,
                flow_start_ms: got.flow_start_ms,
                flow_end_ms: got.flow_end_ms,
                tcp_flags: got.tcp_flags,
                tos: got.tos,
              },
              {
                version: header.version,
                sequence: header.sequence,
                observation_domain: header.domain,
                src_addr: want.src,
                dst_addr: want.dst,
                src_port: want.sport,
                dst_port: want.dport,
                protocol: want.proto,
                bytes: want.bytes * rate,
                packets: want.packets * rate,
                reverse_bytes: want.rbytes * rate,
                reverse_packets: want.rpackets * rate,
                sampling_rate: rate,
                flow_start_ms: want.start_ms,
                flow_end_ms: want.end_ms,
                tcp_flags: want.tcp_flags,
                tos: want.tos,
              },
            );
            assert.equal(got.ip_version, got.src_addr.includes(':') ? 6 : 4);
          }
        });
      });
    }

    it('adds up to the scenario ground truth', () => {
      const { flows, decoder } = decodeAll(datagrams, true);
      const stats = decoder.stats();
      assert.equal(stats.sequence.lostRecords + stats.sequence.lostPackets, 0);
      assert.equal(stats.sequence.resets, 0);
      assert.equal(stats.flows, flows.length);
      if (cfg.sampled) {
        // softflowd -s 10 keeps one packet in ten; scaled back up, totals land near the truth.
        assert.ok(flows.every((fl) => fl.sampling_rate === 10));
        const total = [...truth.values()].filter((t) => cfg.version !== 5 || !t.src_addr.includes(':'));
        const truthPackets = total.reduce((n, t) => n + t.packets, 0);
        const gotPackets = flows.reduce((n, fl) => n + fl.packets, 0);
        assert.ok(Math.abs(gotPackets - truthPackets) / truthPackets < 0.05, `${gotPackets} vs ${truthPackets}`);
        for (const fl of flows) assert.ok(truth.has(flowKey(fl)), flowKey(fl));
        return;
      }
      // NetFlow v5 cannot carry IPv6; softflowd drops those flows.
      const wanted = [...truth.values()].filter((t) => cfg.version !== 5 || !t.src_addr.includes(':'));
      const seen = new Set<string>();
      for (const fl of flows) {
        const key = flowKey(fl);
        assert.ok(!seen.has(key), `duplicate ${key}`);
        seen.add(key);
        const t = truth.get(key);
        assert.ok(t !== undefined, `unexpected flow ${key}`);
        assert.equal(fl.packets, t.packets, key);
        assert.equal(fl.bytes, t.bytes, key);
        assert.equal(fl.sampling_rate, 1);
        // Times bracket the real packets to the export's resolution (softflowd stamps both directions
        // of a connection with the connection's first and last packet).
        assert.ok(fl.flow_start_ms <= t.first_ms && fl.flow_start_ms > t.first_ms - cfg.timeResolutionMs - 5, `${key} start`);
        assert.ok(fl.flow_end_ms >= t.last_ms - cfg.timeResolutionMs && fl.flow_end_ms <= t.last_ms + 5, `${key} end`);
        assert.ok(fl.flow_start_ms >= SCENARIO_START_MS - 1000);
        if (cfg.biflow) {
          const reverse = truth.get(flowKey({ ...fl, src_addr: fl.dst_addr, dst_addr: fl.src_addr, src_port: fl.dst_port, dst_port: fl.src_port }));
          assert.equal(fl.reverse_packets, reverse?.packets ?? 0, key);
          assert.equal(fl.reverse_bytes, reverse?.bytes ?? 0, key);
          if (reverse !== undefined) seen.add(flowKey(reverse));
        } else {
          assert.equal(fl.reverse_bytes, 0);
          if (cfg.version !== 5) assert.equal(fl.flow_direction !== null, true);
        }
      }
      assert.equal(seen.size, wanted.length);
    });
  });
}

describe('softflowd IPFIX over TCP (-P tcp)', () => {
  it('frames the stream at any chunking into the same flows as the UDP export', () => {
    const stream = readFileSync(new URL('softflowd-ipfix-tcp.ipfix-stream', FIXTURES));
    const { flows: udpFlows } = decodeAll(load('softflowd-ipfix').datagrams, true);
    for (const chunkSize of [1, 7, 100, 1500, stream.length]) {
      const framer = createIpfixStreamFramer();
      const decoder = createFlowDecoder({ templateTtlMs: Infinity });
      const flows: DecodedFlow[] = [];
      for (let i = 0; i < stream.length; i += chunkSize) {
        const out = framer.push(stream.subarray(i, i + chunkSize));
        assert.equal(out.error, null);
        assert.equal(out.skippedBytes, 0);
        for (const m of out.messages) flows.push(...decoder.decode(m, 'tcp-conn-1', NOW).flows);
      }
      assert.equal(framer.end().truncatedBytes, 0);
      const key = (fl: DecodedFlow): string => `${flowKey(fl)} ${fl.packets} ${fl.bytes} ${fl.flow_start_ms} ${fl.flow_end_ms}`;
      assert.deepEqual(flows.map(key).sort(), udpFlows.map(key).sort(), `chunk size ${chunkSize}`);
    }
  });
});
