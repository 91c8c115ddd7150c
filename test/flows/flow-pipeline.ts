/**
 * The flows pipeline as it runs in production, for end-to-end tests: a collector (UDP and TCP on
 * free 127.0.0.1 ports) and a store on their own database and topic prefix, against the suite's real
 * Kafka, registry and PostgreSQL. Helpers read back what PostgreSQL holds per project.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createExporter, createOrganization, createPool, createProject, migrate, type Pool } from '@vigil/db';
import { createKafka, ensureTopics } from '@vigil/kafka';
import { silentLogger, testEnv, uniquePrefix, isolatedDatabase } from '@vigil/testkit';
import { startCollector, type RunningCollector } from '../../services/collector/src/collector';
import { startStore, type RunningStore } from '../../services/store/src/store';

export interface StoredRecord {
  key: string;
  bytes: number;
  packets: number;
  reverse_bytes: number;
  reverse_packets: number;
  flow_start_ms: number;
  flow_end_ms: number;
  sampling_rate: number;
  version: number;
  exporter: string;
}

export interface FlowPipeline {
  collector: RunningCollector;
  store: RunningStore;
  pool: Pool;
  udpPort: number;
  tcpPort: number;
  /** A new project with `cidr` registered as its exporter; returns the project id. */
  projectWithExporter(name: string, cidr: string): Promise<number>;
  /** Waits until the project has `count` stored flows (and no more arrive for a moment); returns them. */
  storedRecords(projectId: number, count: number, timeoutMs?: number): Promise<StoredRecord[]>;
  /** Bytes, packets and flows per source from the one-minute rollups. */
  rollupSources(projectId: number): Promise<Map<string, { bytes: number; packets: number; flows: number }>>;
  stop(): Promise<void>;
}

/** `protocol src:sport > dst:dport`, the 5-tuple every comparison is keyed by. */
export const tupleKey = (protocol: number, src: string, sport: number, dst: string, dport: number) => `${protocol} ${src}:${sport} > ${dst}:${dport}`;

export async function startFlowPipeline(): Promise<FlowPipeline> {
  const env = testEnv();
  const prefix = uniquePrefix('flowe2e');
  const databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  const pool = createPool(databaseUrl);
  const org = await createOrganization(pool, 'acme');
  await ensureTopics(createKafka({ brokers: env.kafkaBrokers, clientId: 'flows-e2e', logger: silentLogger() }), prefix);
  const collector = await startCollector(
    {
      VIGIL_COLLECTOR_UDP: [{ host: '127.0.0.1', port: 0 }],
      VIGIL_COLLECTOR_TCP: [{ host: '127.0.0.1', port: 0 }],
      VIGIL_COLLECTOR_ADMIN_ADDR: { host: '127.0.0.1', port: 0 },
      VIGIL_COLLECTOR_UDP_RECEIVE_BUFFER: 8 * 1024 * 1024,
      VIGIL_COLLECTOR_TEMPLATE_TTL: 90 * 60_000,
      VIGIL_COLLECTOR_EXPORTER_REFRESH: 2_000,
      VIGIL_COLLECTOR_BATCH_FLOWS: 5_000,
      VIGIL_COLLECTOR_KAFKA_THREADS: 2,
      VIGIL_COLLECTOR_QUEUE_FLOWS: 250_000,
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: databaseUrl,
      VIGIL_TOPIC_PREFIX: prefix,
      VIGIL_LOG_LEVEL: 'warn',
    },
    silentLogger(),
  );
  const store = await startStore(
    {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: databaseUrl,
      VIGIL_TOPIC_PREFIX: prefix,
      VIGIL_STORE_ADMIN_ADDR: { host: '127.0.0.1', port: 0 },
      VIGIL_EVENT_RETENTION_DAYS: 30,
      VIGIL_STORE_PARTITIONS_AHEAD: 2,
      VIGIL_STORE_CONCURRENCY: 3,
      VIGIL_STORE_MAINTENANCE_INTERVAL: 3_600_000,
      VIGIL_LOG_LEVEL: 'warn',
    },
    silentLogger(),
  );

  const count = async (projectId: number) =>
    Number((await pool.query<{ n: string }>('select count(*) as n from flows where project_id = $1', [projectId])).rows[0]!.n);

  return {
    collector,
    store,
    pool,
    udpPort: collector.udp[0]!.port,
    tcpPort: collector.tcp[0]!.port,
    async projectWithExporter(name, cidr) {
      const { project } = await createProject(pool, org.id, name);
      await createExporter(pool, project.id, cidr);
      await collector.exporters.reload();
      return project.id;
    },
    async storedRecords(projectId, expected, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await count(projectId)) < expected && Date.now() < deadline) await sleep(100);
      // Anything beyond the expected count would be a duplicate or a stray flow: give it time to show.
      await sleep(300);
      const { rows } = await pool.query<StoredRecord & { src: string; dst: string; protocol: number; src_port: number; dst_port: number }>(
        `select protocol, host(src_addr) as src, src_port, host(dst_addr) as dst, dst_port, bytes, packets, reverse_bytes, reverse_packets,
                round(extract(epoch from flow_start) * 1000)::float8 as flow_start_ms, round(extract(epoch from flow_end) * 1000)::float8 as flow_end_ms,
                sampling_rate, version, host(exporter) as exporter
           from flows where project_id = $1`,
        [projectId],
      );
      return rows.map((r) => ({ ...r, key: tupleKey(r.protocol, r.src, r.src_port, r.dst, r.dst_port) }));
    },
    async rollupSources(projectId) {
      const { rows } = await pool.query<{ addr: string; bytes: number; packets: number; flows: number }>(
        `select host(addr) as addr, sum(bytes)::float8 as bytes, sum(packets)::float8 as packets, sum(flows)::float8 as flows
           from flow_rollup_sources where project_id = $1 group by addr`,
        [projectId],
      );
      return new Map(rows.map((r) => [r.addr, { bytes: r.bytes, packets: r.packets, flows: r.flows }]));
    },
    async stop() {
      await collector.stop();
      await store.stop();
      await pool.end();
    },
  };
}
