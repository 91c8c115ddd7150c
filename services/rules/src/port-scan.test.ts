/**
 * A port scan seen the way Vigil sees it in production: packets captured to a pcap, exported as
 * IPFIX by softflowd, decoded by @vigil/flow-decoder into flow records, produced to the flows topic
 * and evaluated by the default rule pack (installed for the project on request). The scanner that
 * probes 60 ports raises exactly one port-scan alert; one that probes 40 raises none; neither the
 * target's replies nor ordinary client traffic count.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { FlowRecord } from '@vigil/contracts';
import { listAlerts } from '@vigil/db';
import { createFlowDecoder } from '@vigil/flow-decoder';
import { runSoftflowd, writePcap, type PacketSpec } from '@vigil/flow-decoder/testing';
import { installDefaultRules } from './default-rules';
import { createHarness, settle, waitFor, type AlertWatch, type Harness } from './testing/harness';

let h: Harness;
let watch: AlertWatch;
const SCANNER = '192.0.2.66';
const SLOW_SCANNER = '192.0.2.77';
const TARGET = '10.0.0.5';
const CLIENT = '10.0.0.7';
// softflowd keeps 15 characters of the -r path: /tmp/r + at most 4 base-36 digits + .pcap.
const PCAP = `/tmp/r${(process.pid % 1_000_000).toString(36)}.pcap`;

before(async () => {
  h = await createHarness('rps');
  watch = await h.watchAlerts();
});
after(async () => {
  rmSync(PCAP, { force: true });
  await h.close();
});

function scanPackets(startUs: number): PacketSpec[] {
  const packets: PacketSpec[] = [];
  const probe = (src: string, i: number, port: number, at: number) => {
    // SYN from an ephemeral port, answered by RST/ACK from the probed port.
    packets.push({ tsUs: at, src, dst: TARGET, proto: 'tcp', sport: 40_000 + i, dport: port, flags: 0x02, payload: 0 });
    packets.push({ tsUs: at + 200, src: TARGET, dst: src, proto: 'tcp', sport: port, dport: 40_000 + i, flags: 0x14, payload: 0 });
  };
  for (let i = 0; i < 60; i++) probe(SCANNER, i, 20 + i * 7, startUs + i * 1_500_000);
  for (let i = 0; i < 40; i++) probe(SLOW_SCANNER, i, 1000 + i, startUs + 500_000 + i * 2_000_000);
  // An ordinary client: three HTTPS connections to one server.
  for (let i = 0; i < 3; i++) {
    const at = startUs + i * 10_000_000;
    packets.push({ tsUs: at, src: CLIENT, dst: TARGET, proto: 'tcp', sport: 50_000 + i, dport: 443, flags: 0x02, payload: 0 });
    packets.push({ tsUs: at + 1000, src: CLIENT, dst: TARGET, proto: 'tcp', sport: 50_000 + i, dport: 443, flags: 0x18, payload: 500 });
  }
  return packets.sort((a, b) => a.tsUs - b.tsUs);
}

test('a port scan exported by softflowd raises one alert; 40 probed ports and ordinary traffic raise none', async () => {
  const installed = await installDefaultRules(h.pool, { organizationId: h.organizationId, projectId: h.projectId, actor: 'test' });
  assert.ok(installed.created.some((r) => r.id === `default.p${h.projectId}.port-scan`));
  const again = await installDefaultRules(h.pool, { organizationId: h.organizationId, projectId: h.projectId });
  assert.equal(again.created.length, 0);
  assert.equal(again.existing.length, installed.created.length);

  const startUs = (Date.now() - 15 * 60_000) * 1000;
  writeFileSync(PCAP, writePcap(scanPackets(startUs)));
  const datagrams = await runSoftflowd({ pcapPath: PCAP, args: ['-a', '-v', '10'] });
  const decoder = createFlowDecoder();
  const receivedAt = Date.now();
  const flows: FlowRecord[] = [];
  for (const d of datagrams) {
    for (const f of decoder.decode(d, '127.0.0.1:9995', receivedAt).flows) {
      flows.push({ ...f, project_id: h.projectId, exporter: '127.0.0.1', received_at_ms: receivedAt });
    }
  }
  const probes = flows.filter((f) => f.src_addr === SCANNER);
  assert.equal(new Set(probes.map((f) => f.dst_port)).size, 60, 'softflowd exported every probe as a flow');

  const worker = await h.start();
  await h.produceFlows(flows);
  await settle(worker, flows.length);
  await waitFor('the port-scan alert', () => watch.created().length >= 1);
  await new Promise((r) => setTimeout(r, 1000));

  const created = watch.created();
  assert.equal(created.length, 1, `alerts: ${created.map((a) => a.title).join('; ')}`);
  const alert = created[0]!;
  assert.equal(alert.rule_id, `default.p${h.projectId}.port-scan`);
  assert.deepEqual(alert.group_values, { src_addr: SCANNER });
  assert.equal(alert.value, 50);
  assert.equal(alert.threshold, 50);
  assert.ok(alert.tags.includes('attack.t1046'));
  const evidence = alert.evidence as { kind: string; flows: number; distinct_values: number[]; top_dst_addrs: Array<{ value: string }> };
  assert.equal(evidence.kind, 'flows');
  assert.equal(evidence.flows, 50);
  assert.equal(evidence.distinct_values.length, 20);
  assert.equal(evidence.top_dst_addrs[0]?.value, TARGET);
  assert.deepEqual((await listAlerts(h.pool, { organizationId: h.organizationId })).map((a) => a.id), [alert.id]);
  await worker.stop();
});
