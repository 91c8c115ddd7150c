import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f, rec, v9 } from '../scripts/datagram-builder';
import { createFlowDecoder } from './index';

const UNIX_S = 1_709_294_401;
const NOW = UNIX_S * 1000;
// IPv4 5-tuple, counters and FIRST/LAST_SWITCHED.
const FIELDS = [f(8, 4), f(12, 4), f(7, 2), f(11, 2), f(4, 1), f(1, 4), f(2, 4), f(22, 4), f(21, 4)];
const TEMPLATE = v9.templateFlowset([{ id: 256, fields: FIELDS }]);
const record = (first: number, last: number, bytes = 100, packets = 2) =>
  rec().ipv4('192.0.2.1').ipv4('198.51.100.1').u16(5000).u16(53).u8(17).u32(bytes).u32(packets).u32(first >>> 0).u32(last >>> 0).build();

describe('NetFlow v9', () => {
  it('decodes templates and data flowsets, with padding in both', () => {
    const d = createFlowDecoder();
    const r = d.decode(
      v9.packet({ sysUptime: 100_000, sequence: 9, sourceId: 77 }, [
        v9.templateFlowset([{ id: 256, fields: FIELDS }], 2),
        v9.dataFlowset(256, [record(90_000, 95_000), record(99_000, 99_500)], 2),
      ]),
      'r1',
      NOW,
    );
    assert.deepEqual(r.drops, {});
    assert.deepEqual([r.version, r.observationDomain, r.sequence], [9, 77, 9]);
    assert.equal(r.flows.length, 2);
    const fl = r.flows[0]!;
    assert.deepEqual(
      [fl.version, fl.observation_domain, fl.src_addr, fl.dst_addr, fl.src_port, fl.dst_port, fl.protocol, fl.bytes, fl.packets],
      [9, 77, '192.0.2.1', '198.51.100.1', 5000, 53, 17, 100, 2],
    );
    // sysUptime 100 s at export: FIRST_SWITCHED 90 s was 10 s before export.
    assert.deepEqual([fl.flow_start_ms, fl.flow_end_ms], [NOW - 10_000, NOW - 5000]);
  });

  it('handles uptime wrap-around between flow and export', () => {
    const d = createFlowDecoder();
    // The uptime counter wrapped 3 s before the export; the flow started 2 s before the wrap.
    const r = d.decode(v9.packet({ sysUptime: 3000 }, [TEMPLATE, v9.dataFlowset(256, [record(2 ** 32 - 2000, 1000)])]), 'r1', NOW);
    assert.deepEqual([r.flows[0]!.flow_start_ms, r.flows[0]!.flow_end_ms], [NOW - 5000, NOW - 2000]);
  });

  it('keeps FIRST/LAST_SWITCHED slightly after the header sysUptime close to the export time', () => {
    const d = createFlowDecoder();
    const r = d.decode(v9.packet({ sysUptime: 50_000 }, [TEMPLATE, v9.dataFlowset(256, [record(49_000, 50_020)])]), 'r1', NOW);
    assert.deepEqual([r.flows[0]!.flow_start_ms, r.flows[0]!.flow_end_ms], [NOW - 1000, NOW + 20]);
  });

  it('prefers systemInitTimeMilliseconds from options data over the whole-second export time', () => {
    const d = createFlowDecoder();
    const init = NOW - 100_000 + 640; // booted 99.36 s before the (truncated) export second
    const options = v9.optionsTemplateFlowset({ id: 261, scope: [f(1, 4)], fields: [f(160, 8)] });
    const r = d.decode(
      v9.packet({ sysUptime: 100_000 }, [options, v9.dataFlowset(261, [rec().u32(0).u64(init).build()]), TEMPLATE, v9.dataFlowset(256, [record(90_000, 95_000)])]),
      'r1',
      NOW,
    );
    assert.deepEqual([r.flows[0]!.flow_start_ms, r.flows[0]!.flow_end_ms], [init + 90_000, init + 95_000]);
  });

  it('skips options scope fields (scope type 1 is System, not IN_BYTES) and learns SAMPLING_INTERVAL', () => {
    const d = createFlowDecoder();
    const options = v9.optionsTemplateFlowset({ id: 257, scope: [f(1, 4)], fields: [f(34, 4), f(35, 1)] }, 3);
    const r = d.decode(
      v9.packet({}, [options, v9.dataFlowset(257, [rec().u32(0xffffffff).u32(100).u8(2).build()], 3), TEMPLATE, v9.dataFlowset(256, [record(99_000, 99_000, 64, 1)])]),
      'r1',
      NOW,
    );
    assert.deepEqual(r.drops, {});
    assert.equal(r.flows.length, 1);
    assert.deepEqual([r.flows[0]!.sampling_rate, r.flows[0]!.bytes, r.flows[0]!.packets], [100, 6400, 100]);
    assert.equal(d.scopeSummaries()[0]!.domains[0]!.samplingRate, 100);
  });

  it('applies per-sampler rates from FLOW_SAMPLER_ID / FLOW_SAMPLER_RANDOM_INTERVAL', () => {
    const d = createFlowDecoder();
    const options = v9.optionsTemplateFlowset({ id: 258, scope: [f(1, 4)], fields: [f(48, 1), f(49, 1), f(50, 4)] });
    const samplers = v9.dataFlowset(258, [rec().u32(0).u8(1).u8(2).u32(512).build(), rec().u32(0).u8(2).u8(2).u32(4).build()]);
    const withSampler = v9.templateFlowset([{ id: 259, fields: [...FIELDS, f(48, 1)] }]);
    const r = d.decode(
      v9.packet({}, [
        options,
        samplers,
        withSampler,
        v9.dataFlowset(259, [Buffer.concat([record(99_000, 99_000, 10, 1), rec().u8(1).build()]), Buffer.concat([record(99_000, 99_000, 10, 1), rec().u8(2).build()])]),
      ]),
      'r1',
      NOW,
    );
    assert.deepEqual(
      r.flows.map((x) => [x.sampling_rate, x.packets]),
      [
        [512, 512],
        [4, 4],
      ],
    );
  });

  it('counts lost export packets from the sequence number', () => {
    const d = createFlowDecoder();
    const pkt = (sequence: number) => v9.packet({ sequence }, [TEMPLATE, v9.dataFlowset(256, [record(1, 1), record(1, 1)])]);
    assert.equal(d.decode(pkt(10), 'r1', NOW).lost, 0);
    assert.equal(d.decode(pkt(11), 'r1', NOW).lost, 0);
    assert.equal(d.decode(pkt(15), 'r1', NOW).lost, 3);
    assert.deepEqual([d.stats().sequence.lostPackets, d.stats().sequence.lostRecords], [3, 0]);
  });

  it('counts reserved flowset ids and malformed or invalid templates', () => {
    const d = createFlowDecoder();
    const overrun = Buffer.from(TEMPLATE);
    overrun.writeUInt16BE(50, 6);
    const badOptions = Buffer.from(v9.optionsTemplateFlowset({ id: 260, scope: [f(1, 4)], fields: [f(34, 4)] }));
    badOptions.writeUInt16BE(3, 6); // scope length not a multiple of 4
    const r = d.decode(
      v9.packet({}, [v9.dataFlowset(7, [Buffer.alloc(4)]), v9.templateFlowset([{ id: 12, fields: FIELDS }]), overrun, badOptions]),
      'r1',
      NOW,
    );
    assert.deepEqual(r.drops, { set_id_reserved: 1, template_id_invalid: 1, template_malformed: 2 });
    assert.equal(d.stats().templates.active, 0);
  });

  it('rejects datagrams shorter than the header', () => {
    const d = createFlowDecoder();
    assert.equal(d.decode(v9.packet({}, []).subarray(0, 19), 'r1', NOW).rejected, 'too_short');
  });

  it('stops at a flowset whose length runs past the datagram', () => {
    const d = createFlowDecoder();
    const pkt = v9.packet({}, [TEMPLATE, v9.dataFlowset(256, [record(1, 1)])]);
    const r = d.decode(pkt.subarray(0, pkt.length - 1), 'r1', NOW);
    assert.deepEqual(r.drops, { set_length_invalid: 1 });
    assert.equal(d.stats().templates.active, 1);
  });
});
