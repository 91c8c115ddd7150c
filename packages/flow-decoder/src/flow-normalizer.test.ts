import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f, ipfix, rec } from '../scripts/datagram-builder';
import { createFlowDecoder } from './index';

const EXPORT_S = 1_709_294_401;
const NOW = EXPORT_S * 1000;
const T0 = 1_709_294_400_000;

function single(decoder: ReturnType<typeof createFlowDecoder>, msg: Buffer, scope = 'e1') {
  const r = decoder.decode(msg, scope, NOW);
  assert.equal(r.rejected, null, JSON.stringify(r.drops));
  return r;
}

describe('IPFIX timestamps', () => {
  const ADDR = [f(8, 4), f(12, 4)];
  const addr = () => rec().ipv4('1.1.1.1').ipv4('2.2.2.2');
  const one = (fields: ReturnType<typeof f>[], body: Buffer, extra: Buffer[] = []) => {
    const d = createFlowDecoder();
    const r = single(d, ipfix.message({}, [...extra, ipfix.templateSet([{ id: 800, fields: [...ADDR, ...fields] }]), ipfix.dataSet(800, [body])]));
    return { fl: r.flows[0]!, d };
  };

  it('reads flowStart/EndSeconds', () => {
    const { fl } = one([f(150, 4), f(151, 4)], addr().u32(EXPORT_S - 10).u32(EXPORT_S - 2).build());
    assert.deepEqual([fl.flow_start_ms, fl.flow_end_ms], [NOW - 10_000, NOW - 2000]);
  });

  it('reads micro- and nanosecond NTP timestamps, preferring the finest resolution', () => {
    const { fl } = one([f(150, 4), f(154, 8), f(157, 8)], addr().u32(EXPORT_S - 10).ntp(T0 + 123, 400_000).ntp(T0 + 999, 999_999).build());
    assert.deepEqual([fl.flow_start_ms, fl.flow_end_ms], [T0 + 123, T0 + 999]);
  });

  it('reads delta microseconds relative to the export time', () => {
    const { fl } = one([f(158, 4), f(159, 4)], addr().u32(2_500_500).u32(1_000).build());
    assert.deepEqual([fl.flow_start_ms, fl.flow_end_ms], [NOW - 2501, NOW - 1]);
  });

  it('reads sysUpTime fields relative to systemInitTimeMilliseconds from options data', () => {
    const init = T0 - 3_600_000;
    const opts = [
      ipfix.optionsTemplateSet([{ id: 900, scope: [f(143, 4)], fields: [f(160, 8)] }]),
      ipfix.dataSet(900, [rec().u32(1).u64(init).build()]),
    ];
    const { fl } = one([f(22, 4), f(21, 4)], addr().u32(3_600_000).u32(3_600_250).build(), opts);
    assert.deepEqual([fl.flow_start_ms, fl.flow_end_ms], [T0, T0 + 250]);
  });

  it('reads systemInitTimeMilliseconds from the record itself and unwraps a 32-bit uptime', () => {
    const init = NOW - 60 * 86_400_000; // up 60 days: uptime wrapped once
    const up = (NOW - 5000 - init) % 2 ** 32;
    const { fl } = one([f(160, 8), f(22, 4), f(21, 4)], addr().u64(init).u32(up).u32(up + 4000).build());
    assert.deepEqual([fl.flow_start_ms, fl.flow_end_ms], [NOW - 5000, NOW - 1000]);
  });

  it('derives the missing end from flowDurationMilliseconds', () => {
    const { fl } = one([f(152, 8), f(161, 4)], addr().u64(T0).u32(1234).build());
    assert.deepEqual([fl.flow_start_ms, fl.flow_end_ms], [T0, T0 + 1234]);
  });

  it('falls back to the export time and counts it when a record has no time', () => {
    const { fl, d } = one([], addr().build());
    assert.deepEqual([fl.flow_start_ms, fl.flow_end_ms], [NOW, NOW]);
    assert.equal(d.stats().timestampsDefaulted, 1);
  });
});

describe('Cisco NSEL counters', () => {
  it('maps initiator/responder octets and packets to forward and reverse counters', () => {
    const d = createFlowDecoder();
    const r = single(
      d,
      ipfix.message({}, [
        ipfix.templateSet([{ id: 810, fields: [f(8, 4), f(12, 4), f(231, 8), f(232, 8), f(298, 8), f(299, 8), f(323, 8)] }]),
        ipfix.dataSet(810, [rec().ipv4('1.1.1.1').ipv4('2.2.2.2').u64(1000).u64(20_000).u64(10).u64(15).u64(T0).build()]),
      ]),
    );
    const fl = r.flows[0]!;
    assert.deepEqual([fl.bytes, fl.reverse_bytes, fl.packets, fl.reverse_packets, fl.flow_start_ms], [1000, 20_000, 10, 15, T0]);
  });
});
