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

describe('IPFIX templates and data', () => {
  it('decodes a data set with its template and ignores set padding', () => {
    const d = createFlowDecoder();
    const r = single(
      d,
      ipfix.message({ sequence: 7, domain: 42 }, [
        ipfix.templateSet([{ id: 300, fields: BASIC }], 2),
        ipfix.dataSet(300, [basic('192.0.2.1', '198.51.100.2', 5000, 5), basic('192.0.2.3', '198.51.100.4', 60, 1)], 3),
      ]),
    );
    assert.deepEqual(r.drops, {});
    assert.equal(r.flows.length, 2);
    const [a] = r.flows;
    assert.deepEqual(a, {
      version: 10,
      observation_domain: 42,
      sequence: 7,
      flow_start_ms: T0,
      flow_end_ms: T0 + 500,
      ip_version: 4,
      src_addr: '192.0.2.1',
      dst_addr: '198.51.100.2',
      src_port: 1234,
      dst_port: 80,
      protocol: 6,
      bytes: 5000,
      packets: 5,
      sampling_rate: 1,
      tcp_flags: 0,
      tos: 0,
      input_if: 0,
      output_if: 0,
      src_as: 0,
      dst_as: 0,
      src_mask: 0,
      dst_mask: 0,
      next_hop: null,
      flow_direction: null,
      biflow_direction: null,
      reverse_bytes: 0,
      reverse_packets: 0,
    });
    assert.equal(r.flows[1]!.bytes, 60);
  });

  it('decodes data that precedes its template in the same message', () => {
    const d = createFlowDecoder();
    const r = single(
      d,
      ipfix.message({}, [ipfix.dataSet(300, [basic('10.0.0.1', '10.0.0.2', 1, 1)]), ipfix.templateSet([{ id: 300, fields: BASIC }])]),
    );
    assert.equal(r.flows.length, 1);
    assert.deepEqual(r.missingTemplates, []);
    assert.equal(r.bufferedSets, 0);
  });

  it('reads IPv6 records with next hop, masks, AS numbers, interfaces, tos, flags and directions', () => {
    const d = createFlowDecoder();
    const fields = [f(27, 16), f(28, 16), f(62, 16), f(29, 1), f(30, 1), f(16, 4), f(17, 2), f(10, 4), f(14, 2), f(5, 1), f(6, 2), f(61, 1), f(239, 1), f(7, 2), f(11, 2), f(4, 1), f(1, 4), f(2, 4)];
    const r = single(
      d,
      ipfix.message({}, [
        ipfix.templateSet([{ id: 400, fields }]),
        ipfix.dataSet(400, [
          rec()
            .ipv6('2001:db8::1')
            .ipv6('2001:db8:0:0:1::2')
            .ipv6('fe80::1')
            .u8(48)
            .u8(64)
            .u32(4_200_000_001)
            .u16(65001)
            .u32(70_000)
            .u16(3)
            .u8(0xb8)
            .u16(0x0112)
            .u8(1)
            .u8(2)
            .u16(443)
            .u16(51000)
            .u8(17)
            .u32(1200)
            .u32(3)
            .build(),
        ]),
      ]),
    );
    const fl = r.flows[0]!;
    assert.equal(fl.ip_version, 6);
    assert.equal(fl.src_addr, '2001:db8::1');
    assert.equal(fl.dst_addr, '2001:db8::1:0:0:2');
    assert.equal(fl.next_hop, 'fe80::1');
    assert.deepEqual(
      [fl.src_mask, fl.dst_mask, fl.src_as, fl.dst_as, fl.input_if, fl.output_if, fl.tos, fl.tcp_flags, fl.flow_direction, fl.biflow_direction],
      [48, 64, 4_200_000_001, 65001, 70_000, 3, 0xb8, 0x0112, 1, 2],
    );
    assert.deepEqual([fl.src_port, fl.dst_port, fl.protocol, fl.bytes, fl.packets], [443, 51000, 17, 1200, 3]);
  });

  it('uses the BGP next hop when the IP next hop is absent or zero, and null for 0.0.0.0', () => {
    const d = createFlowDecoder();
    const fields = [f(8, 4), f(12, 4), f(15, 4), f(18, 4)];
    const r = single(
      d,
      ipfix.message({}, [
        ipfix.templateSet([{ id: 401, fields }]),
        ipfix.dataSet(401, [
          rec().ipv4('1.1.1.1').ipv4('2.2.2.2').ipv4('10.0.0.254').ipv4('10.9.9.9').build(),
          rec().ipv4('1.1.1.1').ipv4('2.2.2.2').ipv4('0.0.0.0').ipv4('10.9.9.9').build(),
          rec().ipv4('1.1.1.1').ipv4('2.2.2.2').ipv4('0.0.0.0').ipv4('0.0.0.0').build(),
        ]),
      ]),
    );
    assert.deepEqual(
      r.flows.map((x) => x.next_hop),
      ['10.0.0.254', '10.9.9.9', null],
    );
  });

  it('accepts reduced-size counters and 64-bit counters', () => {
    const d = createFlowDecoder();
    const r = single(
      d,
      ipfix.message({}, [
        ipfix.templateSet([
          { id: 402, fields: [f(8, 4), f(12, 4), f(1, 2), f(2, 1)] },
          { id: 403, fields: [f(8, 4), f(12, 4), f(1, 8), f(2, 8)] },
          { id: 404, fields: [f(8, 4), f(12, 4), f(1, 3), f(2, 6)] },
        ]),
        ipfix.dataSet(402, [rec().ipv4('1.1.1.1').ipv4('2.2.2.2').u16(65535).u8(200).build()]),
        ipfix.dataSet(403, [rec().ipv4('1.1.1.1').ipv4('2.2.2.2').u64(2n ** 40n + 5n).u64(2n ** 33n).build()]),
        ipfix.dataSet(404, [rec().ipv4('1.1.1.1').ipv4('2.2.2.2').uint(0x123456, 3).uint(0x010000000002, 6).build()]),
      ]),
    );
    assert.deepEqual(
      r.flows.map((x) => [x.bytes, x.packets]),
      [
        [65535, 200],
        [2 ** 40 + 5, 2 ** 33],
        [0x123456, 0x010000000002],
      ],
    );
  });

  it('lets the first occurrence of a duplicated element win', () => {
    const d = createFlowDecoder();
    const r = single(
      d,
      ipfix.message({}, [
        ipfix.templateSet([{ id: 405, fields: [f(8, 4), f(12, 4), f(7, 2), f(7, 2)] }]),
        ipfix.dataSet(405, [rec().ipv4('1.1.1.1').ipv4('2.2.2.2').u16(11).u16(22).build()]),
      ]),
    );
    assert.equal(r.flows[0]!.src_port, 11);
  });

  it('counts data records without addresses instead of inventing them', () => {
    const d = createFlowDecoder();
    const r = d.decode(
      ipfix.message({}, [ipfix.templateSet([{ id: 406, fields: [f(1, 4), f(2, 4)] }]), ipfix.dataSet(406, [rec().u32(1).u32(1).build()])]),
      'e1',
      NOW,
    );
    assert.equal(r.flows.length, 0);
    assert.deepEqual(r.drops, { no_ip_addresses: 1 });
  });
});

describe('IPFIX enterprise and variable-length fields', () => {
  it('skips unknown enterprise elements by length and reads RFC 5103 reverse elements', () => {
    const d = createFlowDecoder();
    const fields = [f(8, 4), f(12, 4), f(100, 6, 9), f(1, 4), f(2, 4), f(1, 8, 29305), f(2, 4, 29305), f(7, 2, 29305), f(11, 2)];
    const r = single(
      d,
      ipfix.message({}, [
        ipfix.templateSet([{ id: 500, fields }]),
        ipfix.dataSet(500, [rec().ipv4('1.1.1.1').ipv4('2.2.2.2').bytes(Buffer.alloc(6, 0xee)).u32(1000).u32(10).u64(7000).u32(7).u16(999).u16(53).build()]),
      ]),
    );
    const fl = r.flows[0]!;
    assert.deepEqual([fl.bytes, fl.packets, fl.reverse_bytes, fl.reverse_packets, fl.dst_port, fl.src_port], [1000, 10, 7000, 7, 53, 0]);
  });

  it('reads fields after variable-length fields with 1-byte and 3-byte length prefixes', () => {
    const d = createFlowDecoder();
    const fields = [f(8, 4), f(82, 0xffff), f(12, 4), f(94, 0xffff), f(7, 2), f(11, 2)];
    const long = Buffer.alloc(300, 0x41);
    const r = single(
      d,
      ipfix.message({}, [
        ipfix.templateSet([{ id: 501, fields }]),
        ipfix.dataSet(501, [
          rec().ipv4('1.1.1.1').varlen(Buffer.from('eth0')).ipv4('2.2.2.2').varlen(long).u16(1).u16(2).build(),
          rec().ipv4('3.3.3.3').varlen(Buffer.from('x'), true).ipv4('4.4.4.4').varlen(Buffer.alloc(0)).u16(3).u16(4).build(),
        ]),
      ]),
    );
    assert.deepEqual(
      r.flows.map((x) => [x.src_addr, x.dst_addr, x.src_port, x.dst_port]),
      [
        ['1.1.1.1', '2.2.2.2', 1, 2],
        ['3.3.3.3', '4.4.4.4', 3, 4],
      ],
    );
  });

  it('counts a variable-length record that overruns its set and keeps the records before it', () => {
    const d = createFlowDecoder();
    const good = rec().ipv4('1.1.1.1').varlen(Buffer.from('ab')).ipv4('2.2.2.2').build();
    const bad = Buffer.concat([rec().ipv4('5.5.5.5').build(), Buffer.from([200, 1, 2, 3, 4, 5])]);
    const r = d.decode(
      ipfix.message({}, [ipfix.templateSet([{ id: 502, fields: [f(8, 4), f(82, 0xffff), f(12, 4)] }]), ipfix.dataSet(502, [good, bad])]),
      'e1',
      NOW,
    );
    assert.equal(r.flows.length, 1);
    assert.deepEqual(r.drops, { record_truncated: 1 });
  });
});

describe('IPFIX template withdrawal', () => {
  const templates = ipfix.templateSet([
    { id: 600, fields: BASIC },
    { id: 601, fields: BASIC },
  ]);
  const options = ipfix.optionsTemplateSet([{ id: 602, scope: [f(149, 4)], fields: [f(305, 4), f(306, 4)] }]);
  const data = (id: number) => ipfix.dataSet(id, [basic('1.1.1.1', '2.2.2.2', 10, 1)]);

  it('withdraws one template; later data for it is missing', () => {
    const d = createFlowDecoder();
    single(d, ipfix.message({}, [templates]));
    const r = single(d, ipfix.message({}, [ipfix.withdrawalSet(2, [600]), data(600), data(601)]));
    assert.equal(r.flows.length, 1);
    assert.deepEqual(r.missingTemplates, [600]);
    assert.equal(d.stats().templates.withdrawn, 1);
  });

  it('withdraws all data templates (id 2) but keeps options templates, and all options templates (id 3)', () => {
    const d = createFlowDecoder();
    single(d, ipfix.message({}, [templates, options]));
    assert.equal(d.stats().templates.active, 3);
    single(d, ipfix.message({}, [ipfix.withdrawalSet(2, [2])]));
    assert.equal(d.stats().templates.active, 1);
    single(d, ipfix.message({}, [ipfix.withdrawalSet(3, [3])]));
    assert.equal(d.stats().templates.active, 0);
    assert.equal(d.stats().templates.withdrawn, 3);
  });

  it('counts the withdrawal of a template it does not know', () => {
    const d = createFlowDecoder();
    const r = single(d, ipfix.message({}, [ipfix.withdrawalSet(2, [777])]));
    assert.deepEqual(r.drops, { withdrawal_unknown: 1 });
  });
});

describe('IPFIX length checks', () => {
  const ok = ipfix.message({}, [ipfix.templateSet([{ id: 300, fields: BASIC }]), ipfix.dataSet(300, [basic('1.1.1.1', '2.2.2.2', 1, 1)])]);

  it('rejects a message whose length exceeds the datagram or is below the header', () => {
    const d = createFlowDecoder();
    assert.equal(d.decode(ok.subarray(0, ok.length - 1), 'e', NOW).rejected, 'message_length_mismatch');
    const short = Buffer.from(ok);
    short.writeUInt16BE(15, 2);
    assert.equal(d.decode(short, 'e', NOW).rejected, 'message_length_mismatch');
    assert.equal(d.decode(ok.subarray(0, 10), 'e', NOW).rejected, 'too_short');
  });

  it('decodes up to the message length and ignores trailing datagram bytes', () => {
    const d = createFlowDecoder();
    const r = d.decode(Buffer.concat([ok, Buffer.alloc(9, 0xff)]), 'e', NOW);
    assert.equal(r.flows.length, 1);
    assert.deepEqual(r.drops, {});
  });

  it('stops at a set whose length is below 4 or past the message, keeping earlier sets', () => {
    const d = createFlowDecoder();
    const bad = Buffer.from(ipfix.message({}, [ipfix.templateSet([{ id: 300, fields: BASIC }]), ipfix.dataSet(300, [basic('1.1.1.1', '2.2.2.2', 1, 1)]), ipfix.dataSet(300, [basic('1.1.1.1', '2.2.2.2', 1, 1)])]));
    const third = bad.length - (4 + 41);
    bad.writeUInt16BE(3, third + 2);
    let r = d.decode(bad, 'e', NOW);
    assert.equal(r.flows.length, 1);
    assert.deepEqual(r.drops, { set_length_invalid: 1 });
    bad.writeUInt16BE(200, third + 2);
    r = d.decode(bad, 'e', NOW);
    assert.equal(r.flows.length, 1);
    assert.deepEqual(r.drops, { set_length_invalid: 1 });
  });

  it('counts reserved set ids, invalid template ids and malformed templates', () => {
    const d = createFlowDecoder();
    const reserved = ipfix.dataSet(5, [Buffer.alloc(4)]);
    const lowId = ipfix.templateSet([{ id: 255, fields: BASIC }]);
    const overrun = Buffer.from(ipfix.templateSet([{ id: 310, fields: BASIC }]));
    overrun.writeUInt16BE(20, 6); // field count beyond the set
    const r = d.decode(ipfix.message({}, [reserved, lowId, overrun]), 'e', NOW);
    assert.deepEqual(r.drops, { set_id_reserved: 1, template_id_invalid: 1, template_malformed: 1 });
  });
});

describe('IPFIX sequence numbers', () => {
  it('counts lost records and restarts', () => {
    const d = createFlowDecoder();
    const msg = (sequence: number, n: number) =>
      ipfix.message({ sequence }, [ipfix.templateSet([{ id: 300, fields: BASIC }]), ipfix.dataSet(300, Array.from({ length: n }, () => basic('1.1.1.1', '2.2.2.2', 1, 1)))]);
    assert.equal(d.decode(msg(100, 3), 'e', NOW).lost, 0);
    assert.equal(d.decode(msg(103, 2), 'e', NOW).lost, 0);
    assert.equal(d.decode(msg(110, 1), 'e', NOW).lost, 5);
    assert.equal(d.decode(msg(0, 1), 'e', NOW).lost, -1);
    assert.equal(d.decode(msg(1, 1), 'e', NOW).lost, 0);
    const s = d.stats().sequence;
    assert.deepEqual([s.lostRecords, s.resets], [5, 1]);
    assert.equal(d.scopeSummaries()[0]!.domains[0]!.lost, 5);
  });
});
