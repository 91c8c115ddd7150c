import { durationMs, listenAddr, logLevel, url } from '@vigil/config';
import { z } from 'zod';

const positiveInt = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** Every variable the API reads, validated once at start (CONTRACT.md §2, §6). */
export const apiConfigShape = {
  VIGIL_API_ADDR: listenAddr('127.0.0.1:8040'),
  DATABASE_URL: url(['postgres', 'postgresql']),
  REDIS_URL: url(['redis', 'rediss']).default('redis://127.0.0.1:6379'),
  /** Prefix of the API's Redis keys (rate-limit windows, revocations), so deployments can share a Redis. */
  VIGIL_API_REDIS_PREFIX: z.string().regex(/^[a-zA-Z0-9:._-]*$/, 'expected letters, digits, ":", ".", "_" or "-"').default('vigil:api:'),
  /** Requests per minute of a token without a limit of its own. */
  VIGIL_API_RATE_LIMIT: positiveInt(1200, 10_000_000),
  /** Requests per minute from one client address without a valid token (401s, the OpenAPI document). */
  VIGIL_API_ANONYMOUS_RATE_LIMIT: positiveInt(120, 10_000_000),
  /** Largest request body accepted, in bytes. */
  VIGIL_API_BODY_LIMIT: positiveInt(1024 * 1024, 64 * 1024 * 1024),
  /** How long a verified token is trusted without looking at the database again (revocations through the API apply at once). */
  VIGIL_API_TOKEN_CACHE_TTL: durationMs('10s'),
  /** Longest a query may run before it is cancelled and answered 503. */
  VIGIL_API_STATEMENT_TIMEOUT: durationMs('15s'),
  VIGIL_API_DB_POOL: positiveInt(20, 500),
  /** Longest a rule backtest (POST /v1/rules/…/test) may run before it is answered 503. */
  VIGIL_API_BACKTEST_TIMEOUT: durationMs('60s'),
  /** How long a top-talker or protocol answer is reused for identical requests (0 turns the cache off). */
  VIGIL_API_ROLLUP_CACHE_TTL: durationMs('10s'),
  /** Concurrent identical list requests (events, flows, alerts) of one organization share one query (`false`: each runs its own). */
  VIGIL_API_SHARED_READS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Trust X-Forwarded-For for the client address (only behind a proxy that sets it). */
  VIGIL_API_TRUST_PROXY: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** Where senders reach ingest: the DSNs the API shows are built from it (as `vigil project create` does). */
  VIGIL_PUBLIC_URL: url(['http', 'https']).optional(),
  VIGIL_INGEST_ADDR: listenAddr('127.0.0.1:8030'),
  /** Redis key prefix of the webhook delivery queue: the delivery service's VIGIL_DELIVERY_QUEUE_PREFIX. */
  VIGIL_DELIVERY_QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]+$/, 'expected letters, digits, ".", "_" or "-"').default('vigil'),
  VIGIL_LOG_LEVEL: logLevel(),
};

export type ApiConfig = z.infer<z.ZodObject<typeof apiConfigShape>>;

/** The base URL senders put in their DSN: the public URL, or the ingest listen address. */
export function ingestBaseUrl(config: Pick<ApiConfig, 'VIGIL_PUBLIC_URL' | 'VIGIL_INGEST_ADDR'>): URL {
  if (config.VIGIL_PUBLIC_URL) return new URL(config.VIGIL_PUBLIC_URL);
  const { host, port } = config.VIGIL_INGEST_ADDR;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return new URL(`http://${shown}:${port}`);
}
