import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Pool } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import { adminRoutes, type ReadinessChecks, type Registry } from '@vigil/service-runtime';
import { accessControl } from './auth/access-control';
import { TokenVerifier } from './auth/token-verifier';
import { createApiMetrics, type ApiMetrics } from './api-metrics';
import { errorHandler, frameworkErrorHandler, notFoundHandler } from './http/error-handler';
import { methodCheck } from './http/method-check';
import { requestIdSource } from './http/request-id';
import { registerRoutes, type AnyRoute } from './http/routes';
import { SharedReads } from './http/shared-reads';
import { SlidingWindowLimiter } from './rate-limit/sliding-window';
import { apiRoutes } from './resources/api-routes';
import type { Redis } from 'ioredis';
import type { WebhookControl } from './resources/webhooks/webhook-control';

export interface ApiAppOptions {
  pool: Pool;
  redis: Redis;
  logger: Logger;
  metrics: Registry;
  readiness: ReadinessChecks;
  redisPrefix: string;
  defaultRateLimit: number;
  anonymousRateLimit: number;
  bodyLimit: number;
  tokenCacheTtlMs: number;
  trustProxy: boolean;
  /** Base URL of ingest, for the DSNs of project keys. */
  ingestBaseUrl: URL;
  /** Test sends and redeliveries, on the delivery service's queue. */
  delivery: Pick<WebhookControl, 'redeliver' | 'sendTest'>;
  /** Longest a rule backtest may run. */
  backtestTimeoutMs: number;
  /** How long top-talker and protocol answers are reused (0: never). */
  rollupCacheTtlMs: number;
  /** Whether concurrent identical list requests share one query (default true). */
  sharedReads?: boolean;
}

/** What resource handlers share: the database and the few services that outlive a request. */
export interface ApiServices {
  pool: Pool;
  logger: Logger;
  metrics: ApiMetrics;
  verifier: TokenVerifier;
  limiter: SlidingWindowLimiter;
  tokenCacheTtlMs: number;
  ingestBaseUrl: URL;
  delivery: Pick<WebhookControl, 'redeliver' | 'sendTest'>;
  backtestTimeoutMs: number;
  rollupCacheTtlMs: number;
  /** List pages being read, shared by identical concurrent requests. */
  sharedReads: SharedReads;
}

const ADMIN_PATHS = ['/healthz', '/readyz', '/metrics'];

/** The API as a Fastify instance, not yet listening. */
export function buildApiApp(o: ApiAppOptions): { app: FastifyInstance; routes: AnyRoute[] } {
  const metrics = createApiMetrics(o.metrics);
  const verifier = new TokenVerifier({
    pool: o.pool,
    logger: o.logger,
    ttlMs: o.tokenCacheTtlMs,
    onLookup: (result) => metrics.tokenCache.inc({ result }),
  });
  let lastSyncWarning = 0;
  const limiter = new SlidingWindowLimiter(o.redis, o.redisPrefix, {
    onSyncError: (err) => {
      if (Date.now() - lastSyncWarning < 10_000) return;
      lastSyncWarning = Date.now();
      o.logger.warn({ err }, 'rate-limit counts could not be added in Redis; they are sent again, and requests are decided in Redis once the counts are stale');
    },
  });
  limiter.listen();
  const services: ApiServices = {
    pool: o.pool,
    logger: o.logger,
    metrics,
    verifier,
    limiter,
    tokenCacheTtlMs: o.tokenCacheTtlMs,
    ingestBaseUrl: o.ingestBaseUrl,
    delivery: o.delivery,
    backtestTimeoutMs: o.backtestTimeoutMs,
    rollupCacheTtlMs: o.rollupCacheTtlMs,
    sharedReads: new SharedReads(o.sharedReads ?? true, (result) => metrics.sharedReads.inc({ result })),
  };

  const app: FastifyInstance = Fastify({
    loggerInstance: o.logger,
    // One access-log line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    genReqId: requestIdSource(),
    requestIdHeader: false,
    bodyLimit: o.bodyLimit,
    trustProxy: o.trustProxy,
    return503OnClosing: true,
    frameworkErrors: frameworkErrorHandler(o.logger),
  }) as unknown as FastifyInstance;
  app.decorateRequest('principal', null);
  app.decorateRequest('errorCode', null);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onRequest', accessControl({ verifier, limiter, defaultLimit: o.defaultRateLimit, anonymousLimit: o.anonymousRateLimit, metrics, logger: o.logger }));
  app.addHook('onResponse', (request, reply, done) => {
    if (request.routeOptions.config.admin) return done();
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.requests.inc({ method: request.method, route, status: reply.statusCode, code: request.errorCode ?? 'ok' });
    metrics.duration.observe({ method: request.method, route }, seconds);
    if (o.logger.isLevelEnabled('info')) {
      o.logger.info(
        {
          request_id: request.id,
          method: request.method,
          route,
          status: reply.statusCode,
          ...(request.errorCode ? { code: request.errorCode } : {}),
          ms: Math.round(reply.elapsedTime * 10) / 10,
          token_id: request.principal?.tokenId,
        },
        'request',
      );
    }
    done();
  });
  app.addHook('onClose', async () => limiter.close());
  app.setErrorHandler(errorHandler(o.logger));
  app.setNotFoundHandler(notFoundHandler);

  const routes = apiRoutes(services);
  app.addHook('onRequest', methodCheck(routes, ADMIN_PATHS));

  const admin = adminRoutes({ metrics: o.metrics, readiness: o.readiness });
  for (const path of ADMIN_PATHS) {
    app.get(path, { config: { admin: true } }, async (request, reply) => {
      reply.hijack();
      await admin(request.raw, reply.raw);
    });
  }

  registerRoutes(app, routes, o.logger);
  return { app, routes };
}
