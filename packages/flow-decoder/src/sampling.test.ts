import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f, ipfix, rec } from '../scripts/datagram-builder';
import { createFlowDecoder } from './index';

const EXPORT_S = 1_709_294_401;
const NOW = EXPORT_S * 1000;
const T0 = 1_709_294_400_000;

const BASIC = [f(8, 4), f(12, 4), f(7, 2), f(11, 2), f(4, 1), f(1, 8), f(2, 4), f(152, 8), f(153, 8)];
const basic = (src: string, dst: string, bytes: number, packets: number) =>
  rec().ipv4(src).ipv4(dst).u16(1234).u16(80).u8(6).u64(bytes).u32(packets).u64(T0).u64(T0 + 500).build();

function single(decoder: ReturnType<typeof createFlowDecoder>, msg: Buffer, scope = 'e1') {
  const r = decoder.decode(msg, scope, NOW);
  assert.equal(r.rejected, null, JSON.stringify(r.drops));
  return r;
}

describe('IPFIX sampling from options data', () => {
  it('multiplies by (interval + space) / interval from 305/306, remembered per scope and domain', () => {
    const d = createFlowDecoder();
    const opts = ipfix.optionsTemplateSet([{ id: 700, scope: [f(143, 4)], fields: [f(305, 4), f(306, 4)] }]);
    single(d, ipfix.message({ domain: 1 }, [opts, ipfix.dataSet(700, [rec().u32(1).u32(1).u32(99).build()])]));
    const data = ipfix.message({ domain: 1 }, [ipfix.templateSet([{ id: 300, fields: BASIC }]), ipfix.dataSet(300, [basic('1.1.1.1', '2.2.2.2', 1500, 3)])]);
    const fl = single(d, data).flows[0]!;
    assert.deepEqual([fl.bytes, fl.packets, fl.sampling_rate], [150_000, 300, 100]);
    assert.equal(d.stats().optionsRecords, 1);
    // Another domain and another exporter are not sampled.
    const other = ipfix.message({ domain: 2 }, [ipfix.templateSet([{ id: 300, fields: BASIC }]), ipfix.dataSet(300, [basic('1.1.1.1', '2.2.2.2', 1500, 3)])]);
    assert.equal(single(d, other).flows[0]!.sampling_rate, 1);
    assert.equal(single(d, data, 'e2').flows[0]!.sampling_rate, 1);
  });

  it('keeps one rate per sampler id (48 / 302) and applies it to records naming that sampler', () => {
    const d = createFlowDecoder();
    const opts = ipfix.optionsTemplateSet([{ id: 701, scope: [f(302, 4)], fields: [f(50, 4)] }]);
    single(d, ipfix.message({}, [opts, ipfix.dataSet(701, [rec().u32(1).u32(10).build(), rec().u32(2).u32(1000).build()])]));
    const fields = [...BASIC, f(302, 4)];
    const r = single(
      d,
      ipfix.message({}, [
        ipfix.templateSet([{ id: 301, fields }]),
        ipfix.dataSet(301, [
          Buffer.concat([basic('1.1.1.1', '2.2.2.2', 100, 1), rec().u32(1).build()]),
          Buffer.concat([basic('1.1.1.1', '2.2.2.2', 100, 1), rec().u32(2).build()]),
        ]),
      ]),
    );
    assert.deepEqual(
      r.flows.map((x) => [x.sampling_rate, x.bytes]),
      [
        [10, 1000],
        [1000, 100_000],
      ],
    );
  });

  it('prefers a rate carried in the data record itself (samplingInterval 34)', () => {
    const d = createFlowDecoder();
    const r = single(
      d,
      ipfix.message({}, [
        ipfix.templateSet([{ id: 302, fields: [...BASIC, f(34, 4)] }]),
        ipfix.dataSet(302, [Buffer.concat([basic('1.1.1.1', '2.2.2.2', 100, 2), rec().u32(64).build()])]),
      ]),
    );
    assert.deepEqual([r.flows[0]!.sampling_rate, r.flows[0]!.packets], [64, 128]);
  });

  it('rounds counters when the rate is fractional', () => {
    const d = createFlowDecoder();
    const opts = ipfix.optionsTemplateSet([{ id: 703, scope: [f(143, 4)], fields: [f(305, 4), f(306, 4)] }]);
    const r = single(
      d,
      ipfix.message({}, [
        opts,
        ipfix.dataSet(703, [rec().u32(1).u32(3).u32(7).build()]),
        ipfix.templateSet([{ id: 300, fields: BASIC }]),
        ipfix.dataSet(300, [basic('1.1.1.1', '2.2.2.2', 100, 1)]),
      ]),
    );
    assert.equal(r.flows[0]!.sampling_rate, 10 / 3);
    assert.deepEqual([r.flows[0]!.bytes, r.flows[0]!.packets], [333, 3]);
  });
});
