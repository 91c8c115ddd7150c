import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaRuntime } from './artifacts';
import { run } from './commands';
import { daemonComponent, type Component } from './component';

export interface KafkaOptions {
  dataDir: string;
  cacheDir: string;
  port: number;
  controllerPort: number;
  heapMb?: number;
}

const LOG4J2 = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
`;

function serverProperties(o: KafkaOptions, logDir: string): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${o.controllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${o.port},CONTROLLER://127.0.0.1:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${o.port}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name=PLAINTEXT',
    `log.dirs=${logDir}`,
    'num.partitions=1',
    'auto.create.topics.enable=false',
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'log.retention.hours=168',
    '',
  ].join('\n');
}

/** Single-node KRaft broker+controller from the Maven-resolved jars. Storage is formatted once. */
export function kafkaComponent(o: KafkaOptions): Component {
  const endpoint = `127.0.0.1:${o.port}`;
  return daemonComponent({
    name: 'kafka',
    endpoint,
    dataDir: o.dataDir,
    startTimeoutMs: 90_000,
    async prepare({ home }) {
      const runtime = await kafkaRuntime(o.cacheDir);
      const logDir = join(home, 'data');
      mkdirSync(logDir, { recursive: true });
      const props = join(home, 'server.properties');
      const log4j = join(home, 'log4j2.properties');
      writeFileSync(props, serverProperties(o, logDir));
      writeFileSync(log4j, LOG4J2);
      const classpath = join(runtime, 'libs', '*');
      const jvm = [`-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath];
      if (!existsSync(join(logDir, 'meta.properties'))) {
        const clusterId = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
        await run('java', [...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, '--ignore-formatted']);
      }
      const heap = o.heapMb ?? 1024;
      return {
        command: 'java',
        args: [`-Xmx${heap}m`, `-Xms${Math.min(heap, 256)}m`, '-XX:+UseG1GC', '-Djava.awt.headless=true', ...jvm, 'kafka.Kafka', props],
      };
    },
    async healthy() {
      const kafka = new Kafka({
        brokers: [endpoint],
        clientId: 'vigil-stack-health',
        logLevel: logLevel.NOTHING,
        connectionTimeout: 1000,
        retry: { retries: 0 },
      });
      const admin = kafka.admin();
      try {
        await admin.connect();
        const cluster = await admin.describeCluster();
        return cluster.brokers.length > 0 && cluster.controller !== null;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  });
}
