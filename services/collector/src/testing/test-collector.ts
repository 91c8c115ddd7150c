/**
 * A real collector for the tests: its own database (migrated, with an organization), its own topic
 * prefix, the shared Kafka and registry of the test run, listeners on free 127.0.0.1 ports, and a
 * consumer that collects what reached `vigil.flows.v1`. Not part of the service.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowRecord } from '@vigil/contracts';
import { createExporter, createOrganization, createPool, createProject, migrate, type Pool } from '@vigil/db';
import { createCodecs, createKafka, createSchemaRegistry, ensureTopics, runConsumer, type Codecs, type ConsumerRunner } from '@vigil/kafka';
import { silentLogger, testEnv, uniquePrefix, isolatedDatabase } from '@vigil/testkit';
import { startCollector, type RunningCollector } from '../collector';
import type { CollectorConfig } from '../config';

export interface CollectedFlow {
  record: FlowRecord;
  key: string;
  partition: number;
}

export interface TestCollector {
  collector: RunningCollector;
  pool: Pool;
  databaseUrl: string;
  prefix: string;
  codecs: Codecs;
  udpPort: number;
  tcpPort: number;
  /** Every flow read back from Kafka, in arrival order per partition. */
  flows: CollectedFlow[];
  /** Creates a project; returns its id. */
  project(name: string): Promise<number>;
  register(projectId: number, cidr: string, observationDomain?: number | null): Promise<number>;
  /** Sends datagrams from a local source address (127.0.0.0/8), one after another. */
  sendUdp(datagrams: readonly Buffer[], from?: string, fromPort?: number): Promise<void>;
  /** Opens a TCP connection from `from`, writes the chunks, ends it and waits until it closes. */
  sendTcp(chunks: readonly Buffer[], from?: string): Promise<void>;
  /** Waits until `count` flows (in total, or matching) were read back. */
  waitForFlows(count: number, filter?: (f: CollectedFlow) => boolean, timeoutMs?: number): Promise<CollectedFlow[]>;
  /** Value of one metric series on /metrics (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export async function startTestCollector(overrides: Partial<CollectorConfig> = {}): Promise<TestCollector> {
  const env = testEnv();
  const prefix = uniquePrefix('coll');
  const databaseUrl = await isolatedDatabase();
  await migrate({ databaseUrl });
  const pool = createPool(databaseUrl);
  const org = await createOrganization(pool, 'acme');
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'collector-test-reader', logger: silentLogger() });
  await ensureTopics(kafka, prefix);
  const codecs = await createCodecs(createSchemaRegistry(env.schemaRegistryUrl), prefix);

  const config: CollectorConfig = {
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
    ...overrides,
  };
  const collector = await startCollector(config, silentLogger());

  const flows: CollectedFlow[] = [];
  const reader: ConsumerRunner = await runConsumer({
    kafka,
    groupId: `${prefix}reader`,
    topics: [codecs.flows.topic],
    logger: silentLogger(),
    handleBatch: async (batch) => {
      for (const m of batch.messages) {
        flows.push({ record: await codecs.flows.decode(m.value!), key: m.key?.toString() ?? '', partition: batch.partition });
      }
    },
  });

  const udpPort = collector.udp[0]?.port ?? 0;
  const tcpPort = collector.tcp[0]?.port ?? 0;
  return {
    collector,
    pool,
    databaseUrl,
    prefix,
    codecs,
    udpPort,
    tcpPort,
    flows,
    async project(name) {
      return (await createProject(pool, org.id, name)).project.id;
    },
    async register(projectId, cidr, observationDomain = null) {
      const e = await createExporter(pool, projectId, cidr, { observationDomain });
      // Registrations are re-read every VIGIL_COLLECTOR_EXPORTER_REFRESH; take effect now in tests.
      await collector.exporters.reload();
      return e.id;
    },
    async sendUdp(datagrams, from = '127.0.0.1', fromPort = 0) {
      const sock = createSocket('udp4');
      sock.bind(fromPort, from);
      await once(sock, 'listening');
      try {
        for (const d of datagrams) {
          await new Promise<void>((resolve, reject) => sock.send(d, udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
        }
      } finally {
        sock.close();
      }
    },
    async sendTcp(chunks, from = '127.0.0.1') {
      const sock = connect({ host: '127.0.0.1', port: tcpPort, localAddress: from });
      sock.on('error', () => undefined);
      await once(sock, 'connect');
      for (const c of chunks) {
        if (!sock.write(c)) await once(sock, 'drain');
      }
      sock.end();
      await once(sock, 'close');
    },
    async waitForFlows(count, filter = () => true, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const matching = flows.filter(filter);
        if (matching.length >= count) return matching;
        if (Date.now() > deadline) throw new Error(`only ${matching.length} of ${count} flows reached Kafka within ${timeoutMs} ms`);
        await sleep(50);
      }
    },
    async metric(name, labels = {}) {
      const text = await (await fetch(`http://127.0.0.1:${collector.adminPort}/metrics`)).text();
      let total = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
        const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
        if (ok) total += Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return total;
    },
    async stop() {
      await reader.stop();
      await collector.stop();
      await pool.end();
    },
  };
}
