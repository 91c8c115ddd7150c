import { csv, durationMs, listenAddr, logLevel, url, type ListenAddr } from '@vigil/config';
import { z } from 'zod';

/** A comma-separated list of `host:port` / `[v6]:port`; `off` (or empty) for none. */
const listenAddrList = (fallback: string) =>
  csv(fallback).transform((items, ctx): ListenAddr[] => {
    if (items.length === 1 && items[0]!.toLowerCase() === 'off') return [];
    const out: ListenAddr[] = [];
    for (const item of items) {
      const parsed = listenAddr(item).safeParse(item);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not host:port (e.g. 0.0.0.0:2055 or [::]:2055); use "off" for none` });
        return z.NEVER;
      }
      out.push(parsed.data);
    }
    return out;
  });

const positiveInt = (fallback: number, min: number, max: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** Every variable the collector reads, validated once at start (CONTRACT.md §2, §5). */
export const collectorConfigShape = {
  /** NetFlow v5/v9 and IPFIX UDP listeners; any version on any of them. */
  VIGIL_COLLECTOR_UDP: listenAddrList('0.0.0.0:2055,0.0.0.0:4739'),
  /** IPFIX-over-TCP listeners. */
  VIGIL_COLLECTOR_TCP: listenAddrList('0.0.0.0:4739'),
  VIGIL_COLLECTOR_ADMIN_ADDR: listenAddr('127.0.0.1:8052'),
  /** Socket receive buffer asked for each UDP listener (the kernel caps it at net.core.rmem_max). */
  VIGIL_COLLECTOR_UDP_RECEIVE_BUFFER: positiveInt(32 * 1024 * 1024, 65_536, 1 << 30),
  /** UDP templates not refreshed for this long are forgotten (TCP templates live as long as their connection). */
  VIGIL_COLLECTOR_TEMPLATE_TTL: durationMs('90m').refine((ms) => ms >= 1000, 'expected at least 1s'),
  /** How often the exporters table is re-read; registration changes take effect within this. */
  VIGIL_COLLECTOR_EXPORTER_REFRESH: durationMs('2s').refine((ms) => ms >= 100 && ms <= 5000, 'expected 100ms to 5s'),
  /** Flow records per Kafka produce request at most. */
  VIGIL_COLLECTOR_BATCH_FLOWS: positiveInt(5_000, 1, 100_000),
  /** Threads building Kafka produce requests (each owns a share of the topic's partitions). */
  VIGIL_COLLECTOR_KAFKA_THREADS: positiveInt(2, 1, 16),
  /** Flow records waiting for Kafka at most; beyond it UDP flows are dropped (counted) and TCP reads pause. */
  VIGIL_COLLECTOR_QUEUE_FLOWS: positiveInt(250_000, 1_000, 10_000_000),
  KAFKA_BROKERS: csv('127.0.0.1:9092').refine((list) => list.length > 0, 'expected host:port[,host:port…]'),
  SCHEMA_REGISTRY_URL: url(['http', 'https']).default('http://127.0.0.1:8081/apis/ccompat/v7'),
  DATABASE_URL: url(['postgres', 'postgresql']),
  VIGIL_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"').default('vigil.'),
  VIGIL_LOG_LEVEL: logLevel(),
};

export type CollectorConfig = z.infer<z.ZodObject<typeof collectorConfigShape>>;
