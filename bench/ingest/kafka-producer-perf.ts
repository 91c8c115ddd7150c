/**
 * Kafka's own producer benchmark (`org.apache.kafka.tools.ProducerPerformance`, what
 * kafka-producer-perf-test.sh runs) from the cached Kafka jars: the rate the broker accepts records
 * of a given size from the reference Java client with acks=all and idempotence, on this machine.
 */
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KAFKA_VERSION } from '@vigil/stack';

export interface ProducerPerfResult {
  records: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  avgLatencyMs: number;
  p50Ms: number;
  p99Ms: number;
}

export function kafkaLibs(): string {
  const cache = process.env.VIGIL_CACHE_DIR ?? join(homedir(), '.cache', 'vigil');
  return join(cache, `kafka-${KAFKA_VERSION}`, 'libs', '*');
}

export async function producerPerformance(o: { brokers: string[]; topic: string; records: number; recordSize: number }): Promise<ProducerPerfResult> {
  const args = [
    '-Xmx512m',
    '-cp',
    kafkaLibs(),
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    o.topic,
    '--num-records',
    String(o.records),
    '--record-size',
    String(o.recordSize),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${o.brokers.join(',')}`,
    'acks=all',
    'enable.idempotence=true',
  ];
  const { stdout } = await promisify(execFile)('java', args, { maxBuffer: 16 << 20 });
  // "300000 records sent, 95238.1 records/sec (142.86 MB/sec), 180.35 ms avg latency, 412.00 ms max latency,
  //  171 ms 50th, 301 ms 95th, 398 ms 99th, 410 ms 99.9th."
  const line = stdout.trim().split('\n').at(-1) ?? '';
  const m = /^(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, [\d.]+ ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th/.exec(line);
  if (m === null) throw new Error(`unexpected ProducerPerformance output:\n${stdout.slice(-2000)}`);
  return {
    records: Number(m[1]),
    recordsPerSecond: Number(m[2]),
    mbPerSecond: Number(m[3]),
    avgLatencyMs: Number(m[4]),
    p50Ms: Number(m[5]),
    p99Ms: Number(m[6]),
  };
}
