import { cidrList, csv, durationMs, listenAddr, logLevel, url } from '@vigil/config';
import { DEFAULT_MAX_ENVELOPE_BYTES, DEFAULT_MAX_EVENT_BYTES } from '@vigil/sentry-protocol';
import { z } from 'zod';

const UNITS: Record<string, number> = { '': 1, b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1024 * 1024 };

/** A size in bytes: `1048576`, `512KiB`, `20MiB`, `1MB`. */
const byteSize = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return fallback;
      const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(value.trim());
      const unit = UNITS[(m?.[2] ?? '').toLowerCase()];
      if (!m || unit === undefined || Number(m[1]) * unit < 1) {
        ctx.addIssue({ code: 'custom', message: 'expected a size such as 1048576, 512KiB or 20MiB' });
        return z.NEVER;
      }
      return Number(m[1]) * unit;
    });

/** Every variable ingest reads, validated once at start (CONTRACT.md §2, §4). */
export const ingestConfigShape = {
  VIGIL_INGEST_ADDR: listenAddr('127.0.0.1:8030'),
  KAFKA_BROKERS: csv('127.0.0.1:9092').refine((list) => list.length > 0, 'expected host:port[,host:port…]'),
  SCHEMA_REGISTRY_URL: url(['http', 'https']).default('http://127.0.0.1:8081/apis/ccompat/v7'),
  DATABASE_URL: url(['postgres', 'postgresql']),
  REDIS_URL: url(['redis', 'rediss']).default('redis://127.0.0.1:6379'),
  VIGIL_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"').default('vigil.'),
  /** Largest event (envelope item, store body, native record) after decompression. */
  VIGIL_INGEST_MAX_EVENT_SIZE: byteSize(DEFAULT_MAX_EVENT_BYTES),
  /** Largest request body, before and after decompression. */
  VIGIL_INGEST_MAX_ENVELOPE_SIZE: byteSize(DEFAULT_MAX_ENVELOPE_BYTES),
  /** Events per minute per DSN key when the key has no `rate_limit_per_minute`; 0 turns the default off. */
  VIGIL_INGEST_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(60_000),
  /** How long a key look-up is trusted: a revoked key is refused at most this long after revocation. */
  VIGIL_INGEST_KEY_CACHE_TTL: durationMs('4s').refine((ms) => ms >= 100 && ms <= 60_000, 'expected 100ms to 60s'),
  /** Longest wait for Kafka's acknowledgement before answering 503. */
  VIGIL_INGEST_PRODUCE_TIMEOUT: durationMs('5s').refine((ms) => ms >= 100, 'expected at least 100ms'),
  /** Unacknowledged bytes held for Kafka; beyond it requests are answered 503 at once. */
  VIGIL_INGEST_MAX_PENDING_SIZE: byteSize(64 * 1024 * 1024),
  /** `Retry-After` of a 503 (seconds). */
  VIGIL_INGEST_RETRY_AFTER: z.coerce.number().int().min(1).max(3600).default(5),
  /** How long a request's first message waits for others to share its Kafka produce request. */
  VIGIL_INGEST_PRODUCE_LINGER: durationMs('1ms'),
  /**
   * Directory of the on-disk spool that takes events while Kafka cannot (answered 200 once fsynced,
   * delivered when Kafka is back). Unset: no spool, such requests are answered 503.
   */
  VIGIL_INGEST_SPOOL_DIR: z.string().min(1).optional(),
  /** Bytes the spool holds at most; beyond it requests are answered 503. */
  VIGIL_INGEST_SPOOL_MAX_SIZE: byteSize(1024 * 1024 * 1024),
  /** How long templates sent on a DSN key to the flows endpoint are remembered (per key and observation domain). */
  VIGIL_INGEST_FLOW_TEMPLATE_TTL: durationMs('90m').refine((ms) => ms >= 1000, 'expected at least 1s'),
  /** Proxies whose X-Forwarded-For is believed for the client IP. */
  VIGIL_INGEST_TRUSTED_PROXIES: cidrList(''),
  /** Longest graceful stop: in-flight requests finish and the producer flushes within it. */
  VIGIL_INGEST_SHUTDOWN_TIMEOUT: durationMs('20s'),
  VIGIL_LOG_LEVEL: logLevel(),
};

export type IngestConfig = z.infer<z.ZodObject<typeof ingestConfigShape>>;
