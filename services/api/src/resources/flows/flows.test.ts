import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createProject } from '@vigil/db';
import { ApiHarness, assertError, assertOk } from '../../testing/api-harness';
import { seedFlows, type SeedFlow } from '../../testing/seed-flows';

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start();
});
after(async () => h.stop());

const T0 = Date.parse('2026-04-01T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

async function tenant(n = 1) {
  const t = await h.tenant();
  const projects = [];
  for (let i = 0; i < n; i++) projects.push((await createProject(h.pool, t.org.id, `p${i}`)).project);
  return { ...t, projects };
}

const ids = (res: { body: { data: Array<{ id: string }> } }) => res.body.data.map((f) => f.id);

test('list: newest first, cursor pages over several projects, filters by address, CIDR, port, protocol, exporter, time', async () => {
  const { token, projects } = await tenant(2);
  const flows: SeedFlow[] = [
    { projectId: projects[0]!.id, end: at(1), src: '10.0.0.1', dst: '192.0.2.10', dstPort: 443, protocol: 6 },
    { projectId: projects[1]!.id, end: at(2), src: '10.0.0.2', dst: '192.0.2.11', dstPort: 53, protocol: 17 },
    { projectId: projects[0]!.id, end: at(3), src: '10.1.0.1', dst: '198.51.100.5', dstPort: 22, protocol: 6, exporter: '192.0.2.254' },
    { projectId: projects[1]!.id, end: at(4), src: '2001:db8::1', dst: '2001:db8:1::1', dstPort: 443, protocol: 6 },
    { projectId: projects[0]!.id, end: at(5), src: '10.0.0.1', dst: '192.0.2.10', srcPort: 53, dstPort: 5353, protocol: 17 },
  ];
  const [f1, f2, f3, f4, f5] = await seedFlows(h.pool, flows);
  const all = [f5, f4, f3, f2, f1];
  const page1 = await h.get('/v1/flows?limit=2', { token });
  assertOk(page1);
  assert.deepEqual(ids(page1), all.slice(0, 2));
  const page2 = await h.get(`/v1/flows?limit=2&after=${page1.body.pagination.next_cursor}`, { token });
  const page3 = await h.get(`/v1/flows?limit=2&after=${page2.body.pagination.next_cursor}`, { token });
  assert.deepEqual([...ids(page2), ...ids(page3)], all.slice(2));
  assert.equal(page3.body.pagination.has_more, false);
  const q = async (query: string) => ids(await h.get(`/v1/flows?${query}`, { token }));
  assert.deepEqual(await q('src=10.0.0.1'), [f5, f1]);
  assert.deepEqual(await q('src=10.0.0.0/8'), [f5, f3, f2, f1]);
  assert.deepEqual(await q('dst=2001:db8::/32'), [f4]);
  assert.deepEqual(await q('port=53'), [f5, f2]);
  assert.deepEqual(await q('protocol=17'), [f5, f2]);
  assert.deepEqual(await q('exporter=192.0.2.254'), [f3]);
  assert.deepEqual(await q(`project=${projects[1]!.id}`), [f4, f2]);
  assert.deepEqual(await q(`since=${at(2).toISOString()}&until=${at(4).toISOString()}`), [f3, f2]);
  const one = (await h.get(`/v1/flows?src=10.1.0.1`, { token })).body.data[0];
  assert.equal(one.exporter, '192.0.2.254');
  assert.equal(one.bytes, 1000);
  assertError(await h.get('/v1/flows?src=10.0.0.0/40', { token }), 400, 'validation_error');
  assertError(await h.get('/v1/flows?port=70000', { token }), 400, 'validation_error');
  assertError(await h.get(`/v1/flows?after=${Buffer.from('events|1|x').toString('base64url')}`, { token }), 400, 'validation_error');
});

test('list items (rendered by PostgreSQL) carry every column of the flow, in the declared shape', async () => {
  const { token, projects } = await tenant(1);
  const p = projects[0]!.id;
  await h.pool.query("select vigil_ensure_daily_partitions('flows'::regclass, '2026-04-03', '2026-04-03')");
  await h.pool.query(
    `insert into flows (project_id, flow_end, flow_id, flow_start, received_at, exporter, version, observation_domain, sequence, ip_version,
       src_addr, dst_addr, src_port, dst_port, protocol, bytes, packets, sampling_rate, tcp_flags, tos, input_if, output_if, src_as, dst_as,
       src_mask, dst_mask, next_hop, flow_direction, biflow_direction, reverse_bytes, reverse_packets)
     values ($1, '2026-04-03T10:00:00.123456Z', 'a1b2c3d4-0000-4000-8000-000000000001', '2026-04-03T09:59:58.5Z', '2026-04-03T10:00:01.007Z',
       '2001:db8::fe', 10, 4294967295, 9007199254740991, 6, '2001:db8::1', '2001:db8:1::2', 51000, 443, 6, 123456789012, 100000, 1000, 27, 184,
       3, 4, 64496, 64511, 48, 64, '2001:db8::ff', 1, 2, 555, 7),
       ($1, '2026-04-03T10:00:01Z', 'a1b2c3d4-0000-4000-8000-000000000002', '2026-04-03T10:00:00Z', '2026-04-03T10:00:02Z',
       '192.0.2.1', 5, 0, 0, 4, '10.0.0.1', '10.0.0.2', 0, 0, 1, 60, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, null, null, null, 0, 0)`,
    [p],
  );
  const res = await h.get('/v1/flows?limit=10', { token });
  assertOk(res);
  assert.deepEqual(res.body.data, [
    {
      id: 'a1b2c3d4-0000-4000-8000-000000000002', project_id: p, exporter: '192.0.2.1', version: 5, observation_domain: 0, sequence: 0,
      flow_start: '2026-04-03T10:00:00.000Z', flow_end: '2026-04-03T10:00:01.000Z', received_at: '2026-04-03T10:00:02.000Z', ip_version: 4,
      src_addr: '10.0.0.1', dst_addr: '10.0.0.2', src_port: 0, dst_port: 0, protocol: 1, bytes: 60, packets: 1, sampling_rate: 1, tcp_flags: 0,
      tos: 0, input_if: 0, output_if: 0, src_as: 0, dst_as: 0, src_mask: 0, dst_mask: 0, next_hop: null, flow_direction: null,
      biflow_direction: null, reverse_bytes: 0, reverse_packets: 0,
    },
    {
      id: 'a1b2c3d4-0000-4000-8000-000000000001', project_id: p, exporter: '2001:db8::fe', version: 10, observation_domain: 4294967295,
      sequence: 9007199254740991, flow_start: '2026-04-03T09:59:58.500Z', flow_end: '2026-04-03T10:00:00.123Z', received_at: '2026-04-03T10:00:01.007Z',
      ip_version: 6, src_addr: '2001:db8::1', dst_addr: '2001:db8:1::2', src_port: 51000, dst_port: 443, protocol: 6, bytes: 123456789012,
      packets: 100000, sampling_rate: 1000, tcp_flags: 27, tos: 184, input_if: 3, output_if: 4, src_as: 64496, dst_as: 64511, src_mask: 48,
      dst_mask: 64, next_hop: '2001:db8::ff', flow_direction: 1, biflow_direction: 2, reverse_bytes: 555, reverse_packets: 7,
    },
  ]);
  // The cursor of a row with microseconds continues right after it.
  const first = await h.get('/v1/flows?limit=1', { token });
  const second = await h.get(`/v1/flows?limit=1&after=${first.body.pagination.next_cursor}`, { token });
  assert.deepEqual(ids(second), ['a1b2c3d4-0000-4000-8000-000000000001']);
  assert.equal(second.body.pagination.has_more, false);
});

test('top talkers by src, dst and pair, by bytes, packets and flows, from the rollups', async () => {
  const { token, projects } = await tenant(1);
  const p = projects[0]!.id;
  const base = Date.now() - 10 * 60_000;
  const flows: SeedFlow[] = [];
  // 10.0.0.1: 3 flows × 100 bytes; 10.0.0.2: 1 flow × 1000 bytes; 10.0.0.3: 2 flows × 10 bytes, 500 packets.
  for (let i = 0; i < 3; i++) flows.push({ projectId: p, end: new Date(base + i * 61_000), src: '10.0.0.1', dst: '192.0.2.1', bytes: 100, packets: 1 });
  flows.push({ projectId: p, end: new Date(base), src: '10.0.0.2', dst: '192.0.2.1', bytes: 1000, packets: 2 });
  for (let i = 0; i < 2; i++) flows.push({ projectId: p, end: new Date(base), src: '10.0.0.3', dst: '192.0.2.2', bytes: 10, packets: 250, protocol: 17 });
  // Outside the default one-hour window.
  flows.push({ projectId: p, end: new Date(base - 3 * 3_600_000), src: '10.9.9.9', dst: '192.0.2.1', bytes: 1e6, packets: 1 });
  await seedFlows(h.pool, flows);
  const top = async (query: string) => {
    const res = await h.get(`/v1/flows/top-talkers?${query}`, { token });
    assertOk(res);
    return res.body.data;
  };
  const bytes = await top('by=src');
  assert.deepEqual(bytes.talkers.map((t: { src_addr: string }) => t.src_addr), ['10.0.0.2', '10.0.0.1', '10.0.0.3']);
  assert.deepEqual(bytes.talkers[1], { src_addr: '10.0.0.1', dst_addr: null, bytes: 300, packets: 3, flows: 3 });
  assert.equal(new Date(bytes.until).getTime() - new Date(bytes.since).getTime() >= 3_600_000, true);
  assert.deepEqual((await top('by=src&metric=packets&limit=1')).talkers.map((t: { src_addr: string }) => t.src_addr), ['10.0.0.3']);
  assert.deepEqual((await top('by=src&metric=flows&limit=1')).talkers.map((t: { src_addr: string }) => t.src_addr), ['10.0.0.1']);
  const dst = await top('by=dst');
  assert.deepEqual(dst.talkers[0], { src_addr: null, dst_addr: '192.0.2.1', bytes: 1300, packets: 5, flows: 4 });
  const pairs = await top('by=pair&metric=flows');
  assert.deepEqual(pairs.talkers[0], { src_addr: '10.0.0.1', dst_addr: '192.0.2.1', bytes: 300, packets: 3, flows: 3 });
  const day = await top('by=src&window=1d&limit=1');
  assert.equal(day.talkers[0].src_addr, '10.9.9.9');
  const explicit = await top(`by=src&since=${new Date(base - 4 * 3_600_000).toISOString()}&until=${new Date(base - 2 * 3_600_000).toISOString()}`);
  assert.deepEqual(explicit.talkers.map((t: { src_addr: string }) => t.src_addr), ['10.9.9.9']);
  assertError(await h.get('/v1/flows/top-talkers?by=port', { token }), 400, 'validation_error');
  assertError(await h.get('/v1/flows/top-talkers?window=1y', { token }), 400, 'validation_error');

  const protocols = await h.get('/v1/flows/protocols?metric=packets', { token });
  assertOk(protocols);
  assert.deepEqual(
    protocols.body.data.protocols.map((r: { protocol: number; name: string; packets: number }) => [r.protocol, r.name, r.packets]),
    [
      [17, 'udp', 500],
      [6, 'tcp', 5],
    ],
  );
  const shares = protocols.body.data.protocols.reduce((sum: number, r: { share: number }) => sum + r.share, 0);
  assert.ok(Math.abs(shares - 1) < 1e-9);
});

test('top talkers and protocols over windows with and without whole hours add up to the flows in them', async () => {
  const { token, projects } = await tenant(2);
  const start = Date.parse('2026-04-02T09:00:00Z');
  const flows: SeedFlow[] = [];
  // Flows every 7 minutes for four hours, over two projects, a few sources and protocols.
  for (let i = 0; i < 4 * 60; i += 7) {
    flows.push({
      projectId: projects[i % 2]!.id,
      end: new Date(start + i * 60_000 + (i % 50) * 1000),
      src: `10.0.0.${i % 5}`,
      dst: `192.0.2.${i % 3}`,
      protocol: i % 3 === 0 ? 17 : 6,
      bytes: 1000 + i * 13,
      packets: 1 + (i % 9),
    });
  }
  await seedFlows(h.pool, flows);
  const minute = (d: Date) => Math.floor(d.getTime() / 60_000) * 60_000;
  const windows: Array<[string, string]> = [
    ['2026-04-02T09:17:00Z', '2026-04-02T12:43:00Z'], // edges on both sides of two whole hours
    ['2026-04-02T10:00:00Z', '2026-04-02T12:00:00Z'], // whole hours only
    ['2026-04-02T10:05:00Z', '2026-04-02T10:55:00Z'], // inside one hour
    ['2026-04-02T09:59:00Z', '2026-04-02T11:01:00Z'], // one minute on each side of an hour
    ['2026-04-02T08:00:00Z', '2026-04-02T14:00:00Z'], // everything
  ];
  for (const [since, until] of windows) {
    const inside = flows.filter((f) => minute(f.end) >= Date.parse(since) && minute(f.end) < Date.parse(until));
    const expected = new Map<string, { bytes: number; packets: number; flows: number }>();
    for (const f of inside) {
      const t = expected.get(f.src) ?? { bytes: 0, packets: 0, flows: 0 };
      expected.set(f.src, { bytes: t.bytes + f.bytes!, packets: t.packets + f.packets!, flows: t.flows + 1 });
    }
    const res = await h.get(`/v1/flows/top-talkers?by=src&limit=100&since=${since}&until=${until}`, { token });
    assertOk(res);
    const got = new Map(res.body.data.talkers.map((t: { src_addr: string; bytes: number; packets: number; flows: number }) => [t.src_addr, { bytes: t.bytes, packets: t.packets, flows: t.flows }]));
    assert.deepEqual(got, expected, `top talkers ${since} – ${until}`);
    const protocols = await h.get(`/v1/flows/protocols?since=${since}&until=${until}`, { token });
    assertOk(protocols);
    const byProtocol = (p: number) => inside.filter((f) => f.protocol === p).reduce((sum, f) => sum + f.bytes!, 0);
    assert.deepEqual(
      protocols.body.data.protocols.map((r: { protocol: number; bytes: number }) => [r.protocol, r.bytes]).sort(),
      [6, 17].filter((p) => byProtocol(p) > 0).map((p) => [p, byProtocol(p)]).sort(),
      `protocols ${since} – ${until}`,
    );
  }
});

test('another organization: its projects are 404 through every flow filter, and its flows never appear', async () => {
  const a = await tenant(1);
  const b = await tenant(1);
  const [fa] = await seedFlows(h.pool, [{ projectId: a.projects[0]!.id, end: new Date(Date.now() - 60_000), src: '10.0.0.1', dst: '10.0.0.2' }]);
  for (const path of ['/v1/flows', '/v1/flows/top-talkers', '/v1/flows/protocols']) {
    assertError(await h.get(`${path}?project=${a.projects[0]!.id}`, { token: b.token }), 404, 'not_found');
  }
  assert.ok(!ids(await h.get('/v1/flows', { token: b.token })).includes(fa!));
  const top = await h.get('/v1/flows/top-talkers', { token: b.token });
  assert.deepEqual(top.body.data.talkers, []);
});
