/**
 * The flows path of the store against real Kafka and PostgreSQL: every field in its column, rollups
 * equal to the stored flows, exactly-once under redelivery and replay (also by two consumer groups at
 * once), retention, poison to the dead-letter topic, and the read queries on top.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowRecord } from '@vigil/contracts';
import { createPool, listFlows, migrate, portBreakdown, protocolBreakdown, topTalkers, type Pool } from '@vigil/db';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics, type Codecs } from '@vigil/kafka';
import { createMetrics } from '@vigil/service-runtime';
import { silentLogger, testEnv, uniquePrefix, isolatedDatabase } from '@vigil/testkit';
import type { Kafka } from 'kafkajs';
import { DAY_MS } from '../daily-partitions';
import { DeadLetters } from '../dead-letters';
import { startStore, type RunningStore } from '../store';
import { createStoreMetrics } from '../store-metrics';
import { createFlowsSink } from './flows-sink';

const env = testEnv();
const prefix = uniquePrefix('flowstore');
const registry = createSchemaRegistry(env.schemaRegistryUrl);
let kafka: Kafka;
let codecs: Codecs;
let producer: BatchingProducer;
let pool: Pool;
let store: RunningStore;

const MINUTE = 60_000;
/** A whole minute a few minutes ago, so every flow of a test lands in a known minute. */
const baseMinute = Math.floor((Date.now() - 10 * MINUTE) / MINUTE) * MINUTE;
let nextSequence = 1;

function flow(o: Partial<FlowRecord> = {}): FlowRecord {
  return {
    project_id: 11,
    exporter: '192.0.2.1',
    version: 10,
    observation_domain: 0,
    sequence: nextSequence++,
    flow_start_ms: baseMinute + 1_000,
    flow_end_ms: baseMinute + 2_345,
    ip_version: 4,
    src_addr: '10.0.0.1',
    dst_addr: '10.0.0.2',
    src_port: 40000,
    dst_port: 443,
    protocol: 6,
    bytes: 1000,
    packets: 10,
    sampling_rate: 1,
    tcp_flags: 0x1b,
    tos: 0,
    input_if: 1,
    output_if: 2,
    src_as: 64500,
    dst_as: 64501,
    src_mask: 24,
    dst_mask: 24,
    next_hop: '192.0.2.254',
    flow_direction: 0,
    biflow_direction: null,
    reverse_bytes: 0,
    reverse_packets: 0,
    received_at_ms: Date.now(),
    ...o,
  };
}

async function produce(records: FlowRecord[]): Promise<void> {
  const values = await Promise.all(records.map((r) => codecs.flows.encode(r)));
  await producer.send(codecs.flows.topic, values.map((value, i) => ({ key: `${records[i]!.project_id}/${records[i]!.src_addr}`, value })));
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const count = async (sql: string, params: unknown[]) => Number((await pool.query<{ n: string }>(sql, params)).rows[0]!.n);
const flowCount = (project: number) => count('select count(*) as n from flows where project_id = $1', [project]);

/** Rollup totals recomputed from the stored flows (biflows as two directed flows). */
async function rollupsFromFlows(project: number): Promise<unknown[]> {
  const { rows } = await pool.query(
    `with directed as (
       select minute, src, dst, protocol, port, bytes, packets from (
         select date_trunc('minute', flow_end) as minute, src_addr as src, dst_addr as dst, protocol, dst_port as port, bytes, packets, true as keep from flows where project_id = $1
         union all
         select date_trunc('minute', flow_end), dst_addr, src_addr, protocol, src_port, reverse_bytes, reverse_packets, reverse_packets > 0 or reverse_bytes > 0 from flows where project_id = $1
       ) d where keep)
     select 'src' as t, host(src) as k, sum(bytes)::float8 as b, sum(packets)::float8 as p, count(*)::float8 as f from directed group by src
     union all select 'dst', host(dst), sum(bytes), sum(packets), count(*) from directed group by dst
     union all select 'pair', host(src) || '>' || host(dst), sum(bytes), sum(packets), count(*) from directed group by src, dst
     union all select 'proto', protocol::text, sum(bytes), sum(packets), count(*) from directed group by protocol
     union all select 'port', protocol || '/' || port, sum(bytes), sum(packets), count(*) from directed group by protocol, port
     order by 1, 2`,
    [project],
  );
  return rows;
}

/** Rollup totals as stored, from the one-minute or the hourly rollup tables. */
async function rollupsStored(project: number, level: 'minute' | 'hourly' = 'minute'): Promise<unknown[]> {
  const t = (table: string) => (level === 'minute' ? table : `${table}_hourly`);
  const { rows } = await pool.query(
    `select 'src' as t, host(addr) as k, sum(bytes)::float8 as b, sum(packets)::float8 as p, sum(flows)::float8 as f from ${t('flow_rollup_sources')} where project_id = $1 group by addr
     union all select 'dst', host(addr), sum(bytes), sum(packets), sum(flows) from ${t('flow_rollup_destinations')} where project_id = $1 group by addr
     union all select 'pair', host(src_addr) || '>' || host(dst_addr), sum(bytes), sum(packets), sum(flows) from ${t('flow_rollup_pairs')} where project_id = $1 group by src_addr, dst_addr
     union all select 'proto', protocol::text, sum(bytes), sum(packets), sum(flows) from ${t('flow_rollup_protocols')} where project_id = $1 group by protocol
     union all select 'port', protocol || '/' || port, sum(bytes), sum(packets), sum(flows) from ${t('flow_rollup_ports')} where project_id = $1 group by protocol, port
     order by 1, 2`,
    [project],
  );
  return rows;
}

/** Hourly rows that differ from the sum of their hour's minute rows (none when the two levels agree). */
async function hourlyMismatches(project: number): Promise<unknown[]> {
  const tables: Array<[string, string]> = [
    ['flow_rollup_sources', 'addr'],
    ['flow_rollup_destinations', 'addr'],
    ['flow_rollup_pairs', 'src_addr, dst_addr'],
    ['flow_rollup_protocols', 'protocol'],
    ['flow_rollup_ports', 'protocol, port'],
  ];
  const out: unknown[] = [];
  for (const [table, dims] of tables) {
    const { rows } = await pool.query(
      `with m as (select project_id, date_trunc('hour', minute, 'UTC') as hour, ${dims}, sum(bytes) as bytes, sum(packets) as packets, sum(flows) as flows
                    from ${table} where project_id = $1 group by 1, 2, ${dims}),
            h as (select project_id, hour, ${dims}, bytes, packets, flows from ${table}_hourly where project_id = $1)
       select '${table}' as t, * from ((select * from m except select * from h) union all (select * from h except select * from m)) d`,
      [project],
    );
    out.push(...rows);
  }
  return out;
}

function storeConfig(databaseUrl: string, group: string) {
  return {
    KAFKA_BROKERS: env.kafkaBrokers,
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    DATABASE_URL: databaseUrl,
    VIGIL_TOPIC_PREFIX: prefix,
    VIGIL_STORE_ADMIN_ADDR: { host: '127.0.0.1', port: 0 },
    VIGIL_EVENT_RETENTION_DAYS: 30,
    VIGIL_STORE_PARTITIONS_AHEAD: 2,
    VIGIL_STORE_CONCURRENCY: 3,
    VIGIL_STORE_EVENTS_GROUP: `${group}.events`,
    VIGIL_STORE_FLOWS_GROUP: `${group}.flows`,
    VIGIL_STORE_MAINTENANCE_INTERVAL: 3_600_000,
    VIGIL_LOG_LEVEL: 'warn' as const,
  };
}

let databaseUrl: string;

before(async () => {
  databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  pool = createPool(databaseUrl);
  kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'flows-store-test', logger: silentLogger() });
  await ensureTopics(kafka, prefix);
  codecs = await createCodecs(registry, prefix);
  producer = new BatchingProducer(kafka);
  await producer.connect();
  store = await startStore(storeConfig(databaseUrl, `${prefix}a`), silentLogger());
});

after(async () => {
  await store?.stop();
  await producer?.disconnect();
  await pool?.end();
});

test('flows are stored with every field in its column, and rollups add up to them (biflows as two directions)', async () => {
  const project = 11;
  const a = flow({ project_id: project });
  const b = flow({
    project_id: project,
    version: 9,
    ip_version: 6,
    src_addr: '2001:db8::10:1',
    dst_addr: '2001:db8:0:1::20',
    src_port: 5353,
    dst_port: 53,
    protocol: 17,
    bytes: 300,
    packets: 3,
    sampling_rate: 10,
    next_hop: null,
    flow_direction: null,
    tcp_flags: 0,
    flow_end_ms: baseMinute + MINUTE + 59_999,
  });
  const bi = flow({ project_id: project, src_addr: '10.0.0.3', dst_addr: '10.0.0.4', reverse_bytes: 5000, reverse_packets: 7, biflow_direction: 1, flow_end_ms: baseMinute + 3 });
  await produce([a, b, bi]);
  await until('three flows', async () => (await flowCount(project)) === 3);

  const { rows } = await pool.query(
    `select *, host(src_addr) as src, host(dst_addr) as dst, host(exporter) as exp, host(next_hop) as nh,
            (extract(epoch from flow_start) * 1000)::float8 as start_ms, (extract(epoch from flow_end) * 1000)::float8 as end_ms,
            (extract(epoch from received_at) * 1000)::float8 as recv_ms
       from flows where project_id = $1 order by flow_end`,
    [project],
  );
  const byEnd = new Map(rows.map((r) => [Math.round(r.end_ms as number), r]));
  for (const want of [a, b, bi]) {
    const got = byEnd.get(want.flow_end_ms)!;
    assert.ok(got, `flow ending at ${want.flow_end_ms}`);
    assert.deepEqual(
      {
        exporter: got.exp, version: got.version, observation_domain: got.observation_domain, sequence: got.sequence,
        flow_start_ms: Math.round(got.start_ms), received_at_ms: Math.round(got.recv_ms), ip_version: got.ip_version,
        src_addr: got.src, dst_addr: got.dst, src_port: got.src_port, dst_port: got.dst_port, protocol: got.protocol,
        bytes: got.bytes, packets: got.packets, sampling_rate: got.sampling_rate, tcp_flags: got.tcp_flags, tos: got.tos,
        input_if: got.input_if, output_if: got.output_if, src_as: got.src_as, dst_as: got.dst_as, src_mask: got.src_mask,
        dst_mask: got.dst_mask, next_hop: got.nh, flow_direction: got.flow_direction, biflow_direction: got.biflow_direction,
        reverse_bytes: got.reverse_bytes, reverse_packets: got.reverse_packets,
      },
      {
        exporter: want.exporter, version: want.version, observation_domain: want.observation_domain, sequence: want.sequence,
        flow_start_ms: want.flow_start_ms, received_at_ms: want.received_at_ms, ip_version: want.ip_version,
        src_addr: want.src_addr, dst_addr: want.dst_addr, src_port: want.src_port, dst_port: want.dst_port, protocol: want.protocol,
        bytes: want.bytes, packets: want.packets, sampling_rate: want.sampling_rate, tcp_flags: want.tcp_flags, tos: want.tos,
        input_if: want.input_if, output_if: want.output_if, src_as: want.src_as, dst_as: want.dst_as, src_mask: want.src_mask,
        dst_mask: want.dst_mask, next_hop: want.next_hop, flow_direction: want.flow_direction, biflow_direction: want.biflow_direction,
        reverse_bytes: want.reverse_bytes, reverse_packets: want.reverse_packets,
      },
    );
  }
  assert.deepEqual(await rollupsStored(project), await rollupsFromFlows(project));
  assert.deepEqual(await rollupsStored(project, 'hourly'), await rollupsFromFlows(project));
  assert.deepEqual(await hourlyMismatches(project), []);
  // The biflow's reverse direction is a talker of its own.
  const window = { projectId: project, since: new Date(baseMinute), until: new Date(baseMinute + 2 * MINUTE) };
  const sources = await topTalkers(pool, { ...window, by: 'src' });
  assert.deepEqual(sources[0], { src_addr: '10.0.0.4', dst_addr: null, bytes: 5000, packets: 7, flows: 1 });
  assert.deepEqual(
    (await protocolBreakdown(pool, window)).map((p) => [p.protocol, p.bytes, p.flows]),
    [[6, 7000, 3], [17, 300, 1]],
  );
  const ports = await portBreakdown(pool, { ...window, protocol: 6 });
  assert.deepEqual(ports.map((p) => [p.port, p.bytes]), [[40000, 5000], [443, 2000]]);
  // A window of the second minute only sees the IPv6 flow.
  const second = await topTalkers(pool, { projectId: project, since: new Date(baseMinute + MINUTE), until: new Date(baseMinute + 2 * MINUTE), by: 'pair' });
  assert.deepEqual(second, [{ src_addr: '2001:db8::10:1', dst_addr: '2001:db8:0:1::20', bytes: 300, packets: 3, flows: 1 }]);
});

test('redelivered, replayed and concurrently consumed flows are stored once and counted once in the rollups', async () => {
  const project = 12;
  const records: FlowRecord[] = [];
  for (let i = 0; i < 2_000; i++) {
    records.push(
      flow({
        project_id: project,
        src_addr: `10.1.${i % 7}.${i % 250}`,
        dst_addr: `10.2.0.${i % 13}`,
        dst_port: 1 + (i % 40),
        bytes: 100 + i,
        packets: 1 + (i % 5),
        flow_end_ms: baseMinute + (i % 3) * MINUTE + i,
        reverse_bytes: i % 4 === 0 ? 77 : 0,
        reverse_packets: i % 4 === 0 ? 1 : 0,
      }),
    );
  }
  // The same records twice in the topic (an exporter retry through HTTP, a producer retry).
  await produce(records);
  await produce(records.slice(0, 500));
  await until('2,000 flows', async () => (await flowCount(project)) === 2_000);
  const first = await rollupsStored(project);
  assert.deepEqual(first, await rollupsFromFlows(project));

  // Two more consumer groups replay the whole topic at the same time into the same tables.
  const replayA = await startStore(storeConfig(databaseUrl, `${prefix}b`), silentLogger());
  const replayB = await startStore(storeConfig(databaseUrl, `${prefix}c`), silentLogger());
  try {
    const skippedDuplicates = async (s: RunningStore) => {
      const text = (await s.metrics.getSingleMetricAsString('vigil_store_records_skipped_total')).split('\n');
      return text.filter((l) => l.includes('sink="flows"') && l.includes('reason="duplicate"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
    };
    await until('both replays done', async () => (await skippedDuplicates(replayA)) >= 2_500 && (await skippedDuplicates(replayB)) >= 2_500, 90_000);
  } finally {
    await replayA.stop();
    await replayB.stop();
  }
  assert.equal(await flowCount(project), 2_000);
  assert.deepEqual(await rollupsStored(project), first);
  assert.deepEqual(await rollupsStored(project, 'hourly'), first);
  assert.deepEqual(await hourlyMismatches(project), []);
});

test('flows older than the retention are skipped, and expired partitions are dropped', async () => {
  const project = 13;
  await produce([flow({ project_id: project, flow_end_ms: Date.now() - 20 * DAY_MS, flow_start_ms: Date.now() - 20 * DAY_MS }), flow({ project_id: project })]);
  await until('the recent flow', async () => (await flowCount(project)) === 1);
  assert.equal(await count('select count(*) as n from flows where project_id = $1 and flow_end < now() - interval \'7 days\'', [project]), 0);

  const metrics = createStoreMetrics(createMetrics('flows-retention-test'));
  const sink = createFlowsSink({
    pool,
    codec: codecs.flows,
    registry,
    deadLetters: new DeadLetters(producer, codecs.deadletter, 'store'),
    metrics,
    logger: silentLogger(),
    retentionDays: 7,
    rollupRetentionDays: 9,
    aheadDays: 1,
  });
  const partitions = async (table: string) =>
    (await pool.query<{ relname: string }>(`select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = $1::regclass`, [table])).rows.map((r) => r.relname);
  const today = new Date().toISOString().slice(0, 10).replace(/-/g, '');
  assert.ok((await partitions('flows')).includes(`flows_p${today}`));
  // Eight days later today's raw flows are gone, its rollups (kept nine days) are not.
  await sink.maintain(Date.now() + 8 * DAY_MS);
  assert.ok(!(await partitions('flows')).includes(`flows_p${today}`));
  assert.ok((await partitions('flow_rollup_sources')).includes(`flow_rollup_sources_p${today}`));
  assert.ok((await partitions('flow_rollup_sources_hourly')).includes(`flow_rollup_sources_hourly_p${today}`));
  await sink.maintain(Date.now() + 10 * DAY_MS);
  assert.ok(!(await partitions('flow_rollup_sources')).includes(`flow_rollup_sources_p${today}`));
  assert.ok(!(await partitions('flow_rollup_sources_hourly')).includes(`flow_rollup_sources_hourly_p${today}`));
});

test('records the table cannot hold go to the dead-letter topic; the rest of the batch is stored', async () => {
  const project = 14;
  const deadLettered = async () => {
    const text = (await store.metrics.getSingleMetricAsString('vigil_store_records_deadlettered_total')).split('\n');
    return text.filter((l) => l.includes('sink="flows"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };
  const before = await deadLettered();
  await produce([flow({ project_id: project, src_addr: 'not-an-address' }), flow({ project_id: project, protocol: 300 }), flow({ project_id: project })]);
  await producer.send(codecs.flows.topic, [{ key: 'x', value: Buffer.from('not avro') }]);
  await until('the good flow', async () => (await flowCount(project)) === 1);
  await until('three dead letters', async () => (await deadLettered()) - before === 3);
});

test('lists flows newest first with the API filters and a stable cursor', async () => {
  const project = 15;
  const records = Array.from({ length: 25 }, (_, i) =>
    flow({ project_id: project, src_addr: `172.16.${i % 2}.${i}`, dst_port: i % 2 ? 22 : 80, protocol: 6, flow_end_ms: baseMinute + i * 1000 }),
  );
  await produce(records);
  await until('25 flows', async () => (await flowCount(project)) === 25);
  const seen: number[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await listFlows(pool, { projectId: project, src: '172.16.1.0/24', limit: 4, ...(after ? { after } : {}) });
    seen.push(...page.flows.map((f) => f.flow_end.getTime()));
    if (page.nextCursor === null) break;
    after = page.nextCursor;
  }
  const want = records.filter((_, i) => i % 2 === 1).map((r) => r.flow_end_ms).sort((x, y) => y - x);
  assert.deepEqual(seen, want);
  assert.equal((await listFlows(pool, { projectId: project, port: 80, protocol: 6 })).flows.length, 13);
  assert.equal((await listFlows(pool, { projectId: project, dst: '10.0.0.2', exporter: '192.0.2.1', since: new Date(baseMinute + 20_000) })).flows.length, 5);
  await assert.rejects(listFlows(pool, { projectId: project, after: 'garbage' }), RangeError);
});

test('starting with rollups kept shorter than flows is refused with both variables named', () => {
  assert.throws(
    () =>
      createFlowsSink({
        pool,
        codec: codecs.flows,
        registry,
        deadLetters: new DeadLetters(producer, codecs.deadletter, 'store'),
        metrics: createStoreMetrics(createMetrics('x')),
        logger: silentLogger(),
        retentionDays: 10,
        rollupRetentionDays: 5,
        aheadDays: 1,
      }),
    /VIGIL_FLOW_ROLLUP_RETENTION_DAYS=5 < VIGIL_FLOW_RETENTION_DAYS=10/,
  );
});
