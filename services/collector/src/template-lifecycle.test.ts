/**
 * Template life cycles through the running collector, checked on what reaches Kafka: data before its
 * template (buffered, then decoded), IPFIX template withdrawal, an exporter reboot that reuses
 * template ids with another layout, and two exporters using the same template id for different
 * layouts; gaps in export sequence numbers counted as lost records (IPFIX) and packets (v9).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { f, ipfix, rec, v9 } from '@vigil/flow-decoder/testing';
import { startTestCollector, type CollectedFlow, type TestCollector } from './testing/test-collector';

const T0 = Math.floor(Date.now() / 1000) - 30;
const T0_MS = T0 * 1000;

/** Layout A: addresses, ports, protocol, 8-byte counters, millisecond times. */
const LAYOUT_A = [f(8, 4), f(12, 4), f(7, 2), f(11, 2), f(4, 1), f(1, 8), f(2, 8), f(152, 8), f(153, 8)];
const recordA = (src: string, dst: string, sport: number, dport: number, bytes: number, packets: number) =>
  rec().ipv4(src).ipv4(dst).u16(sport).u16(dport).u8(6).u64(bytes).u64(packets).u64(T0_MS).u64(T0_MS + 500).build();

/** Layout B: another order and widths (4-byte counters first, UDP), second-resolution times. */
const LAYOUT_B = [f(2, 4), f(1, 4), f(4, 1), f(12, 4), f(8, 4), f(11, 2), f(7, 2), f(150, 4), f(151, 4)];
const recordB = (src: string, dst: string, sport: number, dport: number, bytes: number, packets: number) =>
  rec().u32(packets).u32(bytes).u8(17).ipv4(dst).ipv4(src).u16(dport).u16(sport).u32(T0).u32(T0 + 2).build();

const line = (x: CollectedFlow) =>
  `${x.record.protocol} ${x.record.src_addr}:${x.record.src_port} > ${x.record.dst_addr}:${x.record.dst_port} ${x.record.bytes}B ${x.record.packets}p ${x.record.flow_start_ms}-${x.record.flow_end_ms}`;

describe('template life cycle', () => {
  let c: TestCollector;
  before(async () => {
    c = await startTestCollector();
  });
  after(async () => {
    await c.stop();
  });

  it('decodes IPFIX and v9 data that arrives before its template once the template comes', async () => {
    const project = await c.project('late-templates');
    await c.register(project, '127.0.0.10/32');
    const from = (x: CollectedFlow) => x.record.exporter === '127.0.0.10';
    await c.sendUdp([ipfix.message({ exportSecs: T0, sequence: 0, domain: 1 }, [ipfix.dataSet(256, [recordA('10.0.0.1', '10.0.0.2', 1000, 80, 1500, 3)])])], '127.0.0.10', 30001);
    await c.sendUdp([v9.packet({ unixSecs: T0, sysUptime: 100_000, sequence: 0, sourceId: 2 }, [v9.dataFlowset(300, [recordB('10.0.1.1', '10.0.1.2', 53000, 53, 120, 1)])])], '127.0.0.10', 30002);
    await sleep(300);
    assert.equal(c.flows.filter(from).length, 0, 'nothing decoded without a template');
    await c.sendUdp([ipfix.message({ exportSecs: T0, sequence: 1, domain: 1 }, [ipfix.templateSet([{ id: 256, fields: LAYOUT_A }])])], '127.0.0.10', 30001);
    await c.sendUdp([v9.packet({ unixSecs: T0, sysUptime: 100_000, sequence: 1, sourceId: 2 }, [v9.templateFlowset([{ id: 300, fields: LAYOUT_B }])])], '127.0.0.10', 30002);
    const got = await c.waitForFlows(2, from);
    assert.deepEqual(got.map(line).sort(), [
      `17 10.0.1.1:53000 > 10.0.1.2:53 120B 1p ${T0_MS}-${T0_MS + 2000}`,
      `6 10.0.0.1:1000 > 10.0.0.2:80 1500B 3p ${T0_MS}-${T0_MS + 500}`,
    ]);
    assert.equal(await c.metric('vigil_collector_pending_sets_total', { event: 'released' }), 2);
  });

  it('stops using a withdrawn IPFIX template; data for the id waits for the new one', async () => {
    const project = await c.project('withdrawal');
    await c.register(project, '127.0.0.11/32');
    const from = (x: CollectedFlow) => x.record.exporter === '127.0.0.11';
    const send = (sequence: number, sets: Buffer[]) => c.sendUdp([ipfix.message({ exportSecs: T0, sequence, domain: 0 }, sets)], '127.0.0.11', 30003);
    await send(0, [ipfix.templateSet([{ id: 256, fields: LAYOUT_A }]), ipfix.dataSet(256, [recordA('10.1.0.1', '10.1.0.2', 1, 2, 100, 1)])]);
    await c.waitForFlows(1, from);
    await send(1, [ipfix.withdrawalSet(2, [256])]);
    // Data in the new layout before its template: the withdrawn layout must not be used for it.
    await send(1, [ipfix.dataSet(256, [recordB('10.1.0.3', '10.1.0.4', 3, 4, 200, 2)])]);
    await sleep(300);
    assert.equal(c.flows.filter(from).length, 1);
    await send(2, [ipfix.templateSet([{ id: 256, fields: LAYOUT_B }]), ipfix.dataSet(256, [recordB('10.1.0.5', '10.1.0.6', 5, 6, 300, 3)])]);
    const got = await c.waitForFlows(3, from);
    assert.deepEqual(got.map(line).sort(), [
      `17 10.1.0.3:3 > 10.1.0.4:4 200B 2p ${T0_MS}-${T0_MS + 2000}`,
      `17 10.1.0.5:5 > 10.1.0.6:6 300B 3p ${T0_MS}-${T0_MS + 2000}`,
      `6 10.1.0.1:1 > 10.1.0.2:2 100B 1p ${T0_MS}-${T0_MS + 500}`,
    ]);
    assert.equal(await c.metric('vigil_collector_template_events_total', { transport: 'udp', event: 'withdrawn' }), 1);
  });

  it('follows an exporter reboot that reuses its template id with a new layout', async () => {
    const project = await c.project('reboot');
    await c.register(project, '127.0.0.12/32');
    const from = (x: CollectedFlow) => x.record.exporter === '127.0.0.12';
    const resetsBefore = await c.metric('vigil_collector_sequence_resets_total', { transport: 'udp' });
    await c.sendUdp(
      [
        v9.packet({ unixSecs: T0, sysUptime: 9_000_000, sequence: 500, sourceId: 0 }, [v9.templateFlowset([{ id: 260, fields: LAYOUT_A }])]),
        v9.packet({ unixSecs: T0, sysUptime: 9_000_100, sequence: 501, sourceId: 0 }, [v9.dataFlowset(260, [recordA('10.2.0.1', '10.2.0.2', 10, 20, 1000, 10)])]),
      ],
      '127.0.0.12',
      30004,
    );
    await c.waitForFlows(1, from);
    // Rebooted: uptime and sequence start over, template 260 now means layout B.
    await c.sendUdp(
      [
        v9.packet({ unixSecs: T0 + 5, sysUptime: 1_000, sequence: 0, sourceId: 0 }, [
          v9.templateFlowset([{ id: 260, fields: LAYOUT_B }]),
          v9.dataFlowset(260, [recordB('10.2.0.3', '10.2.0.4', 30, 40, 2000, 20)]),
        ]),
      ],
      '127.0.0.12',
      30004,
    );
    const got = await c.waitForFlows(2, from);
    assert.deepEqual(got.map(line).sort(), [
      `17 10.2.0.3:30 > 10.2.0.4:40 2000B 20p ${T0_MS}-${T0_MS + 2000}`,
      `6 10.2.0.1:10 > 10.2.0.2:20 1000B 10p ${T0_MS}-${T0_MS + 500}`,
    ]);
    assert.ok((await c.metric('vigil_collector_template_events_total', { transport: 'udp', event: 'replaced' })) >= 1);
    assert.equal((await c.metric('vigil_collector_sequence_resets_total', { transport: 'udp' })) - resetsBefore, 1);
  });

  it('keeps the templates of two exporters using the same id apart', async () => {
    const project = await c.project('same-id');
    await c.register(project, '127.0.0.13/32');
    await c.register(project, '127.0.0.14/32');
    const templates = [
      { from: '127.0.0.13', fields: LAYOUT_A, record: recordA },
      { from: '127.0.0.14', fields: LAYOUT_B, record: recordB },
    ];
    for (const t of templates) {
      await c.sendUdp([ipfix.message({ exportSecs: T0, sequence: 0, domain: 0 }, [ipfix.templateSet([{ id: 256, fields: t.fields }])])], t.from, 30005);
    }
    // Interleaved data for template 256 from both.
    for (let i = 0; i < 3; i++) {
      for (const [k, t] of templates.entries()) {
        await c.sendUdp([ipfix.message({ exportSecs: T0, sequence: i, domain: 0 }, [ipfix.dataSet(256, [t.record(`10.3.${k}.1`, `10.3.${k}.2`, 100 + i, 200, 10 * (i + 1), i + 1)])])], t.from, 30005);
      }
    }
    const got = await c.waitForFlows(6, (x) => x.record.project_id === project);
    const want: string[] = [];
    for (let i = 0; i < 3; i++) {
      want.push(`6 10.3.0.1:${100 + i} > 10.3.0.2:200 ${10 * (i + 1)}B ${i + 1}p ${T0_MS}-${T0_MS + 500}`);
      want.push(`17 10.3.1.1:${100 + i} > 10.3.1.2:200 ${10 * (i + 1)}B ${i + 1}p ${T0_MS}-${T0_MS + 2000}`);
    }
    assert.deepEqual(got.map(line).sort(), want.sort());
    for (const x of got) assert.equal(x.record.exporter, x.record.protocol === 6 ? '127.0.0.13' : '127.0.0.14');
  });

  it('counts the records (IPFIX) and export packets (v9) missing from a gap in sequence numbers', async () => {
    const project = await c.project('sequence-gaps');
    await c.register(project, '127.0.0.15/32');
    const from = (x: CollectedFlow) => x.record.exporter === '127.0.0.15';
    const lost = (unit: 'records' | 'packets') => c.metric('vigil_collector_sequence_lost_total', { transport: 'udp', unit });
    const recordsBefore = await lost('records');
    const packetsBefore = await lost('packets');
    const records = (n: number, third: number) => Array.from({ length: n }, (_, i) => recordA(`10.4.${third}.${i + 1}`, '10.4.0.254', 1000 + i, 80, 100, 1));

    // IPFIX numbers data records sent before the message: 3 at 0, 2 at 3, then 5 records missing (next is 10, not 5).
    const ipfixAt = (sequence: number, sets: Buffer[]) => ipfix.message({ exportSecs: T0, sequence, domain: 3 }, sets);
    await c.sendUdp(
      [
        ipfixAt(0, [ipfix.templateSet([{ id: 256, fields: LAYOUT_A }]), ipfix.dataSet(256, records(3, 1))]),
        ipfixAt(3, [ipfix.dataSet(256, records(2, 2))]),
        ipfixAt(10, [ipfix.dataSet(256, records(1, 3))]),
        ipfixAt(11, [ipfix.dataSet(256, records(1, 4))]),
      ],
      '127.0.0.15',
      30006,
    );
    // NetFlow v9 numbers export packets: 20, 21, then 2 packets missing (next is 24, not 22).
    const v9At = (sequence: number, flowsets: Buffer[]) => v9.packet({ unixSecs: T0, sysUptime: 200_000, sequence, sourceId: 4 }, flowsets);
    await c.sendUdp(
      [
        v9At(20, [v9.templateFlowset([{ id: 300, fields: LAYOUT_A }]), v9.dataFlowset(300, records(1, 5))]),
        v9At(21, [v9.dataFlowset(300, records(1, 6))]),
        v9At(24, [v9.dataFlowset(300, records(1, 7))]),
        v9At(25, [v9.dataFlowset(300, records(1, 8))]),
      ],
      '127.0.0.15',
      30007,
    );
    await c.waitForFlows(11, from);
    // The decoder's counters are exported at scrape time, at most every 100 ms.
    await sleep(200);
    assert.equal((await lost('records')) - recordsBefore, 5);
    assert.equal((await lost('packets')) - packetsBefore, 2);
  });
});
