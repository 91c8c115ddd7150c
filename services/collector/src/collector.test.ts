/**
 * The running collector against real Kafka and PostgreSQL: captured softflowd exports over UDP and
 * TCP come out of `vigil.flows.v1` exactly as tshark read them, attributed to the registered project,
 * keyed for the rule engine; unregistered exporters and domains are dropped and counted, and a new
 * or removed registration takes effect within seconds.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners } from 'kafkajs';
import { parseNetflowBody } from '@vigil/flow-decoder';
import type { TsharkExpectations } from '@vigil/flow-decoder/testing';
import { startTestCollector, type CollectedFlow, type TestCollector } from './testing/test-collector';

const FIXTURES = new URL('../../../packages/flow-decoder/fixtures/', import.meta.url);
const fixture = (name: string) => ({
  datagrams: parseNetflowBody(readFileSync(new URL(`${name}.netflow`, FIXTURES))).datagrams,
  tshark: JSON.parse(readFileSync(new URL(`${name}.tshark.json`, FIXTURES), 'utf8')) as TsharkExpectations,
});

/** What tshark read, in the terms of a stored flow (counters multiplied by the announced rate). */
function tsharkFlows(t: TsharkExpectations): string[] {
  let rate = 1;
  const rates = t.datagrams.map((d) => (rate = d.sampling ?? rate));
  return t.flows
    .map((f) => {
      const r = rates[f.datagram] ?? 1;
      return `${f.proto} ${f.src}:${f.sport} > ${f.dst}:${f.dport} ${f.bytes * r}B ${f.packets * r}p ${f.start_ms}-${f.end_ms} rate ${r}`;
    })
    .sort();
}

const stored = (f: CollectedFlow) =>
  `${f.record.protocol} ${f.record.src_addr}:${f.record.src_port} > ${f.record.dst_addr}:${f.record.dst_port} ${f.record.bytes}B ${f.record.packets}p ${f.record.flow_start_ms}-${f.record.flow_end_ms} rate ${f.record.sampling_rate}`;

describe('collector', () => {
  let c: TestCollector;
  before(async () => {
    c = await startTestCollector();
  });
  after(async () => {
    await c.stop();
  });

  it('publishes every flow of a registered UDP exporter exactly as tshark reads the export, keyed by project and source', async () => {
    const project = await c.project('edge');
    await c.register(project, '127.0.0.1/32');
    for (const name of ['softflowd-v5', 'softflowd-v9', 'softflowd-ipfix', 'softflowd-ipfix-sampled', 'pmacct-v9']) {
      const { datagrams, tshark } = fixture(name);
      const fromPort = 20_000 + Math.floor(Math.random() * 20_000);
      const before = Date.now();
      await c.sendUdp(datagrams, '127.0.0.1', fromPort);
      const version = tshark.datagrams[0]!.version;
      const fresh = await c.waitForFlows(tshark.flows.length, (f) => f.record.project_id === project && f.record.version === version && f.record.received_at_ms >= before);
      assert.deepEqual(fresh.map(stored).sort(), tsharkFlows(tshark), name);
      const partitioner = Partitioners.DefaultPartitioner();
      const meta = Array.from({ length: 6 }, (_, i) => ({ partitionId: i, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));
      for (const f of fresh) {
        assert.equal(f.record.exporter, '127.0.0.1');
        assert.equal(f.key, `${project}/${f.record.src_addr}`);
        assert.equal(f.partition, partitioner({ topic: c.codecs.flows.topic, partitionMetadata: meta, message: { key: f.key, value: null } }), 'Java-compatible partition');
      }
      // Clear what was checked so the next fixture's count starts from zero.
      c.flows.splice(0, c.flows.length);
    }
    assert.equal(await c.metric('vigil_collector_flows_dropped_total'), 0);
    assert.equal(await c.metric('vigil_collector_decoder_drops_total'), 0);
  });

  it('frames IPFIX over TCP per connection into the same flows as the UDP export', async () => {
    const project = await c.project('tcp');
    await c.register(project, '127.0.0.3/32');
    const stream = readFileSync(new URL('softflowd-ipfix-tcp.ipfix-stream', FIXTURES));
    const { tshark } = fixture('softflowd-ipfix');
    // Odd chunk sizes split headers and records across reads.
    const chunks: Buffer[] = [];
    for (let i = 0; i < stream.length; i += 333) chunks.push(stream.subarray(i, i + 333));
    await c.sendTcp(chunks, '127.0.0.3');
    const got = await c.waitForFlows(tshark.flows.length, (f) => f.record.project_id === project);
    assert.deepEqual(got.map(stored).sort(), tsharkFlows(tshark));
    assert.ok(got.every((f) => f.record.exporter === '127.0.0.3' && f.record.version === 10));
    // The connection's templates were forgotten when it closed.
    for (let i = 0; i < 40 && (await c.metric('vigil_collector_tcp_connections_closed_total', { reason: 'end' })) < 1; i++) await sleep(50);
    assert.equal(await c.metric('vigil_collector_tcp_connections_closed_total', { reason: 'end' }), 1);
    assert.equal(await c.metric('vigil_collector_exporter_scopes', { transport: 'tcp' }), 0);
  });

  it('closes TCP connections from unregistered sources and streams that are not IPFIX', async () => {
    const stream = readFileSync(new URL('softflowd-ipfix-tcp.ipfix-stream', FIXTURES));
    await c.sendTcp([stream], '127.0.0.4');
    assert.equal(await c.metric('vigil_collector_tcp_connections_closed_total', { reason: 'unregistered_exporter' }), 1);
    const project = await c.project('garbage');
    await c.register(project, '127.0.0.5/32');
    await c.sendTcp([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], '127.0.0.5');
    assert.equal(await c.metric('vigil_collector_tcp_connections_closed_total', { reason: 'framing_error' }), 1);
  });

  it('drops and counts datagrams of unregistered exporters and domains, and honours a new registration within seconds', async () => {
    const { datagrams, tshark } = fixture('softflowd-ipfix');
    await c.sendUdp(datagrams, '127.0.0.6');
    await sleep(300);
    assert.equal(await c.metric('vigil_collector_datagrams_dropped_total', { reason: 'unregistered_exporter' }), datagrams.length);
    assert.ok(!c.flows.some((f) => f.record.exporter === '127.0.0.6'));

    // Registered for observation domain 7 only: softflowd's domain 0 is not it.
    const project = await c.project('domains');
    await c.register(project, '127.0.0.6/32', 7);
    await c.sendUdp(datagrams, '127.0.0.6');
    await sleep(300);
    assert.equal(await c.metric('vigil_collector_datagrams_dropped_total', { reason: 'unregistered_domain' }), datagrams.length);

    // A registration written straight to the table (no reload call) applies within the refresh interval.
    const other = await c.project('later');
    const inserted = Date.now();
    await c.pool.query('insert into exporters (project_id, cidr) values ($1, $2)', [other, '127.0.0.0/29']);
    let acceptedAfter = -1;
    while (Date.now() - inserted < 10_000) {
      await c.sendUdp(datagrams, '127.0.0.6');
      await sleep(100);
      if (c.flows.some((f) => f.record.exporter === '127.0.0.6')) {
        acceptedAfter = Date.now() - inserted;
        break;
      }
    }
    assert.ok(acceptedAfter >= 0 && acceptedAfter < 5_000, `registration took effect after ${acceptedAfter} ms`);
    const got = await c.waitForFlows(tshark.flows.length, (f) => f.record.exporter === '127.0.0.6');
    // The /29 for any domain is less specific in domain than a /32 naming another domain: it applies.
    assert.ok(got.every((f) => f.record.project_id === other));
  });

  it('drops and counts the datagrams of an exporter again within seconds of its registration being removed', async () => {
    const { datagrams, tshark } = fixture('softflowd-ipfix');
    const source = '127.0.0.40';
    const fromSource = (f: CollectedFlow) => f.record.exporter === source;
    const dropped = () => c.metric('vigil_collector_datagrams_dropped_total', { transport: 'udp', reason: 'unregistered_exporter' });
    const project = await c.project('removed');
    const id = await c.register(project, `${source}/32`);
    await c.sendUdp(datagrams, source);
    await c.waitForFlows(tshark.flows.length, fromSource);

    // Deleted straight from the table (no reload call): the removal applies within the refresh interval.
    const droppedBefore = await dropped();
    const deleted = Date.now();
    await c.pool.query('delete from exporters where id = $1', [id]);
    let refusedAfter = -1;
    while (Date.now() - deleted < 10_000) {
      await c.sendUdp(datagrams, source);
      await sleep(100);
      if ((await dropped()) > droppedBefore) {
        refusedAfter = Date.now() - deleted;
        break;
      }
    }
    assert.ok(refusedAfter >= 0 && refusedAfter < 5_000, `removal took effect after ${refusedAfter} ms`);

    // From then on every datagram is dropped and counted, and none of it reaches Kafka.
    const base = await dropped();
    const sentAt = Date.now();
    await c.sendUdp(datagrams, source);
    for (let i = 0; i < 40 && (await dropped()) - base < datagrams.length; i++) await sleep(50);
    assert.equal((await dropped()) - base, datagrams.length);
    await sleep(1_000);
    assert.deepEqual(c.flows.filter((f) => fromSource(f) && f.record.received_at_ms >= sentAt), []);
  });

  it('accounts for every datagram: read by the collector, or dropped by the kernel and counted', async () => {
    const project = await c.project('overflow');
    await c.register(project, '127.0.0.30/32');
    const datagram = fixture('softflowd-ipfix').datagrams[1]!;
    const before = await c.metric('vigil_collector_datagrams_received_total', { transport: 'udp' });
    const dropsBefore = await c.metric('vigil_collector_udp_kernel_drops');
    // Twice what the granted buffer could hold even without per-datagram overhead.
    const granted = await c.metric('vigil_collector_udp_receive_buffer_bytes');
    const sent = Math.max(4000, Math.ceil((2 * granted) / datagram.length));
    // Another process sends while this one (the collector's event loop) is busy: the socket buffer overflows.
    const sender = promisify(execFile)('python3', [
      '-c',
      `import socket,sys\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('127.0.0.30', 0))\nd=bytes.fromhex(sys.argv[1])\nfor i in range(${sent}): s.sendto(d, ('127.0.0.1', ${c.udpPort}))`,
      datagram.toString('hex'),
    ]);
    const busyUntil = Date.now() + 1500;
    while (Date.now() < busyUntil) {
      // The event loop does not run: nothing is read from the socket.
    }
    await sender;
    let received = 0;
    let drops = 0;
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      received = (await c.metric('vigil_collector_datagrams_received_total', { transport: 'udp' })) - before;
      drops = (await c.metric('vigil_collector_udp_kernel_drops')) - dropsBefore;
      if (received + drops >= sent) break;
    }
    assert.ok(drops > 0, 'the kernel dropped datagrams while the collector was busy');
    assert.equal(received + drops, sent, `${received} read + ${drops} dropped by the kernel`);
  });

  it('answers health, readiness and metrics on the admin port', async () => {
    const base = `http://127.0.0.1:${c.collector.adminPort}`;
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { kafka: true, postgres: true } });
    assert.ok((await c.metric('vigil_collector_flows_published_total')) > 0);
    assert.ok((await c.metric('vigil_collector_templates', { transport: 'udp' })) > 0);
    assert.ok((await c.metric('vigil_collector_udp_receive_buffer_bytes')) > 0);
    assert.ok((await c.metric('vigil_collector_exporter_registrations')) >= 4);
    assert.equal(
      await c.metric('vigil_collector_flows_published_total'),
      await c.metric('vigil_collector_flows_decoded_total'),
      'every decoded flow was acknowledged',
    );
  });
});
