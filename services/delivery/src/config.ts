import { csv, durationMs, listenAddr, logLevel, url } from '@vigil/config';
import { createAddressPolicy, parseDuration } from '@vigil/webhook-signing';
import { z } from 'zod';

/** Every variable delivery reads, validated once at start (CONTRACT.md §2, §7). */
export const deliveryConfigShape = {
  KAFKA_BROKERS: csv('127.0.0.1:9092').refine((list) => list.length > 0, 'expected host:port[,host:port…]'),
  SCHEMA_REGISTRY_URL: url(['http', 'https']).default('http://127.0.0.1:8081/apis/ccompat/v7'),
  DATABASE_URL: url(['postgres', 'postgresql']),
  REDIS_URL: url(['redis', 'rediss']).default('redis://127.0.0.1:6379'),
  VIGIL_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"').default('vigil.'),
  VIGIL_DELIVERY_ADMIN_ADDR: listenAddr('127.0.0.1:8054'),
  /** Consumer group on the alerts topic; every delivery instance of one deployment shares it. */
  VIGIL_DELIVERY_GROUP: z.string().min(1).optional(),
  /** Redis key prefix of the delivery queue (BullMQ `prefix`). */
  VIGIL_DELIVERY_QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]+$/, 'expected letters, digits, ".", "_" or "-"').default('vigil'),
  /** Deliveries one process runs at the same time, all endpoints together. */
  VIGIL_DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(2000).default(100),
  /** Requests in flight to one healthy endpoint, per process. */
  VIGIL_WEBHOOK_ENDPOINT_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(10),
  /** Share of the concurrency that endpoints in trouble may hold together (each holds at most one). */
  VIGIL_WEBHOOK_UNHEALTHY_SHARE: z.coerce.number().gt(0).max(1).default(0.5),
  /** A request in flight this long makes its endpoint suspect: its other messages leave the worker. */
  VIGIL_WEBHOOK_SLOW_AFTER: durationMs('2s'),
  /** Longest a message of an endpoint in trouble is put back in the queue before it is looked at again. */
  VIGIL_WEBHOOK_DEFER_MAX: durationMs('30s'),
  /** Delays after the first, second, … failed attempt; the last one failing makes the message failed. */
  VIGIL_WEBHOOK_RETRY_SCHEDULE: csv('5s,5m,30m,2h,5h,10h,10h').superRefine((items, ctx) => {
    for (const item of items) {
      try {
        parseDuration(/^\d+$/.test(item) ? Number(item) : item);
      } catch {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not a duration such as 500ms, 5s, 5m, 2h or 1d` });
      }
    }
  }),
  /** Each delay is spread by this fraction either way. */
  VIGIL_WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).lt(1).default(0.2),
  VIGIL_WEBHOOK_CONNECT_TIMEOUT: durationMs('5s'),
  VIGIL_WEBHOOK_TIMEOUT: durationMs('15s'),
  /** Bounds of an honoured Retry-After (429, 502, 503, 504). */
  VIGIL_WEBHOOK_RETRY_AFTER_MIN: durationMs('1s'),
  VIGIL_WEBHOOK_RETRY_AFTER_MAX: durationMs('1h'),
  /** An endpoint whose every attempt failed for this long is disabled. */
  VIGIL_WEBHOOK_DISABLE_AFTER: durationMs('5d'),
  /** Internal destinations that are allowed anyway (comma-separated CIDRs or addresses). */
  VIGIL_WEBHOOK_ALLOW_CIDRS: csv('').superRefine((items, ctx) => {
    try {
      createAddressPolicy({ allowCidrs: items });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }),
  /** How long a worker's claim on a job lasts without renewal: after a crash, its jobs run again this much later. */
  VIGIL_DELIVERY_LOCK_DURATION: durationMs('30s'),
  /** How often pending messages without a live queue job (parked, or Redis restored or flushed) are looked for. */
  VIGIL_DELIVERY_RECOVERY_INTERVAL: durationMs('1m'),
  /** A pending message overdue by this much is checked against the queue. */
  VIGIL_DELIVERY_RECOVERY_AFTER: durationMs('2m'),
  /** Finished messages and their attempt log are kept this long. */
  VIGIL_WEBHOOK_RETENTION: durationMs('30d'),
  VIGIL_LOG_LEVEL: logLevel(),
};

export type DeliveryConfig = z.infer<z.ZodObject<typeof deliveryConfigShape>>;
