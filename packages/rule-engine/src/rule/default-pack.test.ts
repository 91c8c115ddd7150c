import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Alert } from '../stream/alert';
import { defaultRulePack } from './default-pack';
import { createEngine } from '../stream/engine';
import { event, flow, T0 } from '../testing/fixtures';
import type { EventRecord, FlowRecord } from '../records';
import { parseRules, RuleValidationError } from './schema';

function engineFor(projectId: number | null, blocklist?: string[]) {
  const e = createEngine();
  const report = e.load(defaultRulePack({ projectId, ...(blocklist ? { blocklist } : {}) }));
  assert.deepEqual(report.rejected, []);
  return e;
}

function alertsOf(e: ReturnType<typeof createEngine>, events: EventRecord[], flows: FlowRecord[]): Alert[] {
  return [...events.flatMap((r) => [...e.processEvent(r)]), ...flows.flatMap((r) => [...e.processFlow(r)])];
}

const names = (alerts: Alert[]) => alerts.map((a) => a.rule_id.split('.').pop());

describe('default rule pack', () => {
  it('is valid, round-trips through the schema and tags every rule with ATT&CK ids', () => {
    const pack = defaultRulePack({ projectId: 42, blocklist: ['198.18.0.0/15'] });
    assert.deepEqual(pack.map((r) => r.id), [
      'default.p42.brute-force-login', 'default.p42.port-scan', 'default.p42.host-sweep',
      'default.p42.large-outbound-transfer', 'default.p42.non-standard-service-port', 'default.p42.blocklisted-destination',
    ]);
    for (const r of pack) {
      assert.equal(r.project_id, 42);
      assert.ok(r.tags.some((t) => /^attack\.t\d{4}(\.\d{3})?$/.test(t)), `${r.id} has no technique`);
      assert.ok(r.tags.some((t) => /^attack\.[a-z_]+$/.test(t)), `${r.id} has no tactic`);
    }
    const again = parseRules(JSON.parse(JSON.stringify(pack)));
    assert.ok(again.ok);
    assert.deepEqual(again.value, pack);
    assert.equal(defaultRulePack({ projectId: null }).length, 5, 'no blocklist, no blocklist rule');
    assert.equal(defaultRulePack({ projectId: null })[0]?.id, 'default.brute-force-login');
    assert.throws(() => defaultRulePack({ projectId: 1, blocklist: ['300.0.0.0/8'] }), RuleValidationError);
  });

  it('detects brute-force logins, not failures without a source address', () => {
    const e = engineFor(7);
    const attack = Array.from({ length: 12 }, (_, i) => event({ project_id: 7, timestamp_ms: T0 + i * 10_000, client_ip: '203.0.113.5' }));
    const anonymous = Array.from({ length: 30 }, (_, i) => event({ project_id: 7, timestamp_ms: T0 + i * 1_000, client_ip: null }));
    const otherProject = Array.from({ length: 30 }, (_, i) => event({ project_id: 8, timestamp_ms: T0 + i * 1_000 }));
    assert.deepEqual(names(alertsOf(e, [...attack, ...anonymous, ...otherProject], [])), ['brute-force-login']);
  });

  it('detects a port scan and ignores a busy server answering its clients', () => {
    const e = engineFor(1);
    const scan = Array.from({ length: 1_000 }, (_, i) => flow({ src_addr: '198.51.100.9', src_port: 40_000 + (i % 3), dst_addr: '10.0.0.8', dst_port: 1 + i, flow_end_ms: T0 + i * 100, bytes: 44, packets: 1 }));
    const replies = Array.from({ length: 1_000 }, (_, i) => flow({ src_addr: '10.0.0.80', src_port: 443, dst_addr: `198.51.100.${i % 200}`, dst_port: 20_000 + i * 7, flow_end_ms: T0 + i * 100 }));
    const highReplies = Array.from({ length: 1_000 }, (_, i) => flow({ src_addr: '10.0.0.81', src_port: 8080, dst_addr: `198.51.100.${i % 200}`, dst_port: 33_000 + i * 7, flow_end_ms: T0 + i * 100 }));
    const alerts = alertsOf(e, [], [...scan, ...replies, ...highReplies]);
    assert.deepEqual(names(alerts), ['port-scan']);
    assert.deepEqual(alerts[0]?.group_values, { src_addr: '198.51.100.9' });
  });

  it('detects a host sweep and ignores clients browsing many sites', () => {
    const e = engineFor(1);
    const sweep = Array.from({ length: 254 }, (_, i) => flow({ src_addr: '10.0.0.66', dst_addr: `10.0.2.${i + 1}`, dst_port: 445, flow_end_ms: T0 + i * 500, bytes: 120, packets: 2 }));
    const browsing = Array.from({ length: 500 }, (_, i) => flow({ src_addr: '10.0.0.20', dst_addr: `93.184.${i >> 8}.${i & 255}`, dst_port: 443, flow_end_ms: T0 + i * 500 }));
    const alerts = alertsOf(e, [], [...sweep, ...browsing]);
    assert.deepEqual(names(alerts), ['host-sweep']);
    assert.deepEqual(alerts[0]?.group_values, { src_addr: '10.0.0.66', dst_port: '445' });
    assert.equal(alerts[0]?.evidence.kind === 'flows' && alerts[0].evidence.top_dst_ports[0]?.value, 445);
  });

  it('detects a large outbound transfer, not internal backups', () => {
    const e = engineFor(1);
    const exfil = Array.from({ length: 12 }, (_, i) => flow({ src_addr: '10.0.0.7', dst_addr: '198.51.100.1', bytes: 100_000_000, flow_end_ms: T0 + i * 240_000 }));
    const backup = Array.from({ length: 12 }, (_, i) => flow({ src_addr: '10.0.0.8', dst_addr: '10.0.9.9', bytes: 900_000_000, flow_end_ms: T0 + i * 240_000 }));
    const alerts = alertsOf(e, [], [...exfil, ...backup]);
    assert.deepEqual(names(alerts), ['large-outbound-transfer']);
    assert.equal(alerts[0]?.value, 1_000_000_000);
    assert.equal(alerts[0]?.evidence.kind === 'flows' && alerts[0].evidence.bytes, 1_000_000_000);
  });

  it('flags traffic to a blocklisted network once per source and destination per hour', () => {
    const e = engineFor(1, ['203.0.113.0/24', '2001:db8:bad::/48']);
    const flows = [
      flow({ src_addr: '10.0.0.4', dst_addr: '203.0.113.9', flow_end_ms: T0 }),
      flow({ src_addr: '10.0.0.4', dst_addr: '203.0.113.9', flow_end_ms: T0 + 60_000 }),
      flow({ src_addr: '10.0.0.5', dst_addr: '203.0.113.9', flow_end_ms: T0 + 60_000 }),
      flow({ src_addr: 'fd00::4', dst_addr: '2001:db8:bad::1', ip_version: 6, flow_end_ms: T0 + 60_000 }),
      flow({ src_addr: '10.0.0.4', dst_addr: '203.0.114.9', flow_end_ms: T0 + 60_000 }),
      flow({ src_addr: '10.0.0.4', dst_addr: '203.0.113.9', flow_end_ms: T0 + 3_700_000 }),
    ];
    const alerts = alertsOf(e, [], flows);
    assert.deepEqual(names(alerts), Array(4).fill('blocklisted-destination'));
    assert.equal(alerts[0]?.evidence.kind === 'flows' && alerts[0].evidence.flow?.dst_addr, '203.0.113.9');
  });

  it('flags a known service on a non-standard port', () => {
    const e = engineFor(1);
    const net = (app_proto: string, dest_port: number) => event({ class: 'network', type: 'flow', attributes: { app_proto, dest_port, dest_ip: '10.0.0.3', src_ip: '10.0.0.9' } });
    const alerts = alertsOf(e, [net('ssh', 2222), net('ssh', 2222), net('ssh', 22), net('http', 8080), net('smb', 445), net('rdp', 443), net('dns', 5353)], []);
    assert.deepEqual(alerts.map((a) => a.group_values['attributes.app_proto']), ['ssh', 'rdp', 'dns']);
  });
});
