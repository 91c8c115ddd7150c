/**
 * Wires the collector: exporter registrations (PostgreSQL), one decoder per transport, UDP and TCP
 * listeners, the Avro writer and the bounded publisher into `vigil.flows.v1` (its produce requests
 * built on a thread of their own), and the admin server.
 */
import { AVRO_SCHEMAS, subjectFor, topicNames } from '@vigil/contracts';
import type { ListenAddr } from '@vigil/config';
import { createPool } from '@vigil/db';
import { createFlowDecoder } from '@vigil/flow-decoder';
import { AvroFlowWriter, FlowMessageBuilder, FlowPublisher } from '@vigil/flow-publisher';
import { createKafka, createSchemaRegistry, registerSchema } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { createMetrics, startAdminServer, type Registry } from '@vigil/service-runtime';
import { canonicalSource } from './address-prefix';
import { createCollectorMetrics, exportDecoderStats } from './collector-metrics';
import type { CollectorConfig } from './config';
import { DatagramIntake } from './datagram-intake';
import { ExporterRegistry } from './exporter-registry';
import { KafkaWorker } from './kafka-worker';
import { kernelUdpDrops } from './kernel-drops';
import { startTcpListener, type TcpListener } from './tcp-listener';
import { startUdpListener, type UdpListener } from './udp-listener';

export interface RunningCollector {
  metrics: Registry;
  exporters: ExporterRegistry;
  publisher: FlowPublisher;
  /** Bound addresses (real ports when 0 was configured). */
  udp: ListenAddr[];
  tcp: ListenAddr[];
  adminPort: number;
  /** Graceful stop: close listeners, send every queued flow to Kafka, disconnect. */
  stop(): Promise<void>;
}

export interface CollectorHooks {
  /**
   * A part the collector cannot run without died (a Kafka producer thread). main.ts exits so the
   * supervisor restarts the process; by default it is only logged.
   */
  onFatal?(err: Error): void;
}

export async function startCollector(config: CollectorConfig, logger: Logger, hooks: CollectorHooks = {}): Promise<RunningCollector> {
  const registry = createMetrics('collector');
  // Filled in below; read only when /metrics is scraped.
  let exporters: ExporterRegistry | null = null;
  let publisher: FlowPublisher | null = null;
  const udp: UdpListener[] = [];
  const metrics = createCollectorMetrics(registry, {
    exporterRegistrations: () => exporters?.size ?? 0,
    pendingFlows: () => publisher?.pending ?? 0,
    kernelDrops: () => udp.map((l) => [`${l.address.host}:${l.address.port}`, kernelUdpDrops(l.address.port)]),
  });
  const topic = topicNames(config.VIGIL_TOPIC_PREFIX).flows;
  const pool = createPool(config.DATABASE_URL, { max: 2, applicationName: 'vigil-collector' });
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'vigil-collector', logger });
  const admin = kafka.admin();
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((err: unknown) => logger.warn({ err }, 'stop step failed'));
  };

  try {
    cleanups.push(() => pool.end());
    exporters = new ExporterRegistry({
      db: pool,
      logger,
      refreshMs: config.VIGIL_COLLECTOR_EXPORTER_REFRESH,
      onReloadError: () => metrics.exporterReloadErrors.inc(),
    });
    await exporters.start();
    const registrations = exporters;
    cleanups.push(async () => registrations.stop());

    const schemaId = await registerSchema(createSchemaRegistry(config.SCHEMA_REGISTRY_URL), subjectFor(topic), AVRO_SCHEMAS.flows);
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const [metadata] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
    const partitions = metadata?.partitions.length ?? 0;
    if (partitions === 0) throw new Error(`topic ${topic} has no partitions (create the topics first: vigil up does)`);
    const producer = await KafkaWorker.start(
      { brokers: config.KAFKA_BROKERS, clientId: 'vigil-collector', service: 'collector', logLevel: config.VIGIL_LOG_LEVEL },
      config.VIGIL_COLLECTOR_KAFKA_THREADS,
      partitions,
      (err) => {
        logger.fatal({ err }, 'a Kafka producer thread died; flows can no longer be published');
        hooks.onFatal?.(err);
      },
    );
    cleanups.push(() => producer.close());

    const queue = new FlowPublisher({
      producer,
      topic,
      maxBatchMessages: config.VIGIL_COLLECTOR_BATCH_FLOWS,
      maxQueuedMessages: config.VIGIL_COLLECTOR_QUEUE_FLOWS,
      onBatch: (n, seconds) => {
        metrics.flowsPublished.inc(n);
        metrics.kafkaBatchSeconds.observe(seconds);
        metrics.kafkaBatchMessages.observe(n);
      },
      onError: (err, n) => {
        metrics.kafkaErrors.inc();
        metrics.flowsDropped.inc({ reason: 'kafka_error' }, n);
        logger.error({ err, flows: n }, 'Kafka did not acknowledge a produce request; its flows are lost');
      },
    });
    // Everything queued is sent before the producer disconnects.
    publisher = queue;
    cleanups.push(() => queue.flush());

    const messages = new FlowMessageBuilder(new AvroFlowWriter(schemaId));
    const decoders = {
      udp: createFlowDecoder({ templateTtlMs: config.VIGIL_COLLECTOR_TEMPLATE_TTL }),
      // Templates on a TCP connection live as long as it (RFC 7011 §8.1); the scope is dropped at close.
      tcp: createFlowDecoder({ templateTtlMs: Infinity }),
    };
    exportDecoderStats(registry, decoders);
    const expiry = setInterval(() => {
      const now = Date.now();
      decoders.udp.expire(now);
      decoders.tcp.expire(now);
    }, 10_000);
    cleanups.push(async () => clearInterval(expiry));
    const intake = (transport: 'udp' | 'tcp') =>
      new DatagramIntake({ transport, decoder: decoders[transport], exporters: registrations, messages, publisher: queue, metrics, logger });

    const udpIntake = intake('udp');
    for (const addr of config.VIGIL_COLLECTOR_UDP) {
      const listener = await startUdpListener(addr, {
        receiveBufferBytes: config.VIGIL_COLLECTOR_UDP_RECEIVE_BUFFER,
        logger,
        onDatagram: (msg, rinfo) => {
          const source = canonicalSource(rinfo.address);
          udpIntake.handle(msg, source, `${source}:${rinfo.port}`, Date.now());
        },
      });
      // Listeners close before the publisher flushes (cleanups run in reverse).
      cleanups.push(() => listener.close());
      udp.push(listener);
      metrics.udpReceiveBuffer.set({ listener: `${listener.address.host}:${listener.address.port}` }, listener.receiveBufferBytes);
    }
    const tcpIntake = intake('tcp');
    const tcp: TcpListener[] = [];
    for (const addr of config.VIGIL_COLLECTOR_TCP) {
      const listener = await startTcpListener(addr, {
        intake: tcpIntake,
        decoder: decoders.tcp,
        exporters: registrations,
        publisher: queue,
        metrics,
        logger,
        pauseAboveQueued: Math.floor(config.VIGIL_COLLECTOR_QUEUE_FLOWS / 2),
      });
      cleanups.push(() => listener.close());
      tcp.push(listener);
    }

    const server = await startAdminServer(config.VIGIL_COLLECTOR_ADMIN_ADDR, {
      metrics: registry,
      readiness: {
        kafka: async () => (await admin.describeCluster()).brokers.length > 0,
        postgres: async () => (await pool.query('select 1')).rowCount === 1,
      },
    });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const bound = server.address();
    const adminPort = typeof bound === 'object' && bound !== null ? bound.port : config.VIGIL_COLLECTOR_ADMIN_ADDR.port;
    logger.info(
      {
        udp: udp.map((l) => `${l.address.host}:${l.address.port} (receive buffer ${l.receiveBufferBytes} bytes)`),
        tcp: tcp.map((l) => `${l.address.host}:${l.address.port}`),
        admin: adminPort,
        exporters: registrations.size,
        topic,
      },
      'collector listening',
    );
    let stopping: Promise<void> | null = null;
    return {
      metrics: registry,
      exporters: registrations,
      publisher: queue,
      udp: udp.map((l) => l.address),
      tcp: tcp.map((l) => l.address),
      adminPort,
      stop() {
        stopping ??= (async () => {
          await cleanup();
          const total = async (c: { get(): Promise<{ values: { value: number }[] }> }) => (await c.get()).values.reduce((n, v) => n + v.value, 0);
          logger.info(
            {
              datagrams: await total(metrics.datagrams),
              flows_decoded: await total(metrics.flows),
              flows_published: await total(metrics.flowsPublished),
              flows_dropped: await total(metrics.flowsDropped),
            },
            'collector drained: every decoded flow was published or counted as dropped',
          );
        })();
        return stopping;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
