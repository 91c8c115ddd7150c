import type { AddressInfo } from 'node:net';
import { createPool } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import { createMetrics, type Registry } from '@vigil/service-runtime';
import { Redis } from 'ioredis';
import { buildApiApp } from './api-app';
import { ingestBaseUrl, type ApiConfig } from './config';
import { createWebhookControl } from './resources/webhooks/webhook-control';

export interface RunningApi {
  port: number;
  metrics: Registry;
  stop(): Promise<void>;
}

/** Connects PostgreSQL and Redis, and serves the API (and /healthz, /readyz, /metrics) on VIGIL_API_ADDR. */
export async function startApi(config: ApiConfig, logger: Logger): Promise<RunningApi> {
  const metrics = createMetrics('api');
  const pool = createPool(withStatementTimeout(config.DATABASE_URL, config.VIGIL_API_STATEMENT_TIMEOUT), {
    max: config.VIGIL_API_DB_POOL,
    applicationName: 'vigil-api',
  });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', (err) => logger.warn({ err }, 'redis error'));
  try {
    await redis.connect();
    await pool.query('select 1');
  } catch (err) {
    redis.disconnect();
    await pool.end();
    throw err;
  }

  const delivery = createWebhookControl({ pool, redisUrl: config.REDIS_URL, queuePrefix: config.VIGIL_DELIVERY_QUEUE_PREFIX });
  const { app } = buildApiApp({
    pool,
    redis,
    logger,
    metrics,
    readiness: {
      postgres: async () => (await pool.query('select 1')).rowCount === 1,
      redis: async () => (await redis.ping()) === 'PONG',
    },
    redisPrefix: config.VIGIL_API_REDIS_PREFIX,
    defaultRateLimit: config.VIGIL_API_RATE_LIMIT,
    anonymousRateLimit: config.VIGIL_API_ANONYMOUS_RATE_LIMIT,
    bodyLimit: config.VIGIL_API_BODY_LIMIT,
    tokenCacheTtlMs: config.VIGIL_API_TOKEN_CACHE_TTL,
    trustProxy: config.VIGIL_API_TRUST_PROXY,
    ingestBaseUrl: ingestBaseUrl(config),
    delivery,
    backtestTimeoutMs: config.VIGIL_API_BACKTEST_TIMEOUT,
    rollupCacheTtlMs: config.VIGIL_API_ROLLUP_CACHE_TTL,
    sharedReads: config.VIGIL_API_SHARED_READS,
  });
  try {
    await app.listen({ host: config.VIGIL_API_ADDR.host, port: config.VIGIL_API_ADDR.port });
  } catch (err) {
    await app.close();
    await delivery.close();
    redis.disconnect();
    await pool.end();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  logger.info({ addr: `${config.VIGIL_API_ADDR.host}:${port}` }, 'api listening');
  return {
    port,
    metrics,
    async stop() {
      await app.close();
      await delivery.close();
      redis.disconnect();
      await pool.end();
    },
  };
}

/** The server cancels queries that run longer (from the first query of every connection); they are answered 503. */
function withStatementTimeout(databaseUrl: string, timeoutMs: number): string {
  const url = new URL(databaseUrl);
  const existing = url.searchParams.get('options');
  url.searchParams.set('options', `${existing ? `${existing} ` : ''}-c statement_timeout=${Math.max(1, Math.round(timeoutMs))}`);
  return url.toString();
}
