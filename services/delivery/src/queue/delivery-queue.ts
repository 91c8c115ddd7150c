import { Queue, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { PendingMessage } from '@vigil/db';
import type { Logger } from '@vigil/logging';

/**
 * The delivery queue: one BullMQ job per message (alert event × endpoint), its id the message's
 * current job id — the message id itself, so a replayed alert adds nothing while its job exists,
 * and `<id>.r<n>` after a redelivery. The job carries only ids; the attempt reads the message, the
 * body and the endpoint's current URL and secrets from PostgreSQL, so secrets never sit in Redis.
 */
export const DELIVERY_QUEUE = 'webhook-deliveries';
export const DELIVERY_JOB = 'deliver';

export interface DeliveryJobData {
  /** Message id (`msg_…`). */
  m: string;
  /** Endpoint id, so the worker can gate on the endpoint before touching the database. */
  w: string;
  /** The next attempt was asked for by a person (redeliver, send test). */
  manual?: boolean;
}

/**
 * Jobs are retried by BullMQ only when the worker itself failed (database or Redis unreachable);
 * delivery attempts and their schedule are counted in PostgreSQL, not here.
 */
const INFRASTRUCTURE_RETRIES: Pick<JobsOptions, 'attempts' | 'backoff'> = { attempts: 12, backoff: { type: 'exponential', delay: 1000 } };

export function deliveryJobOptions(jobId: string): JobsOptions {
  return {
    jobId,
    ...INFRASTRUCTURE_RETRIES,
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 86_400 },
  };
}

/** A Redis connection as BullMQ workers need it: commands wait for a reconnect instead of failing. */
export function redisConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: 'vigil-delivery' });
}

/**
 * Refuses to run on a Redis that may evict keys: an evicted job is a lost delivery. Managed Redis
 * services that forbid CONFIG get a warning instead.
 */
export async function assertNoEviction(redis: Redis, logger: Logger): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch (err) {
    logger.warn({ err }, 'cannot read maxmemory-policy; make sure Redis uses noeviction');
    return;
  }
  if (policy !== undefined && policy !== 'noeviction') {
    throw new Error(`Redis maxmemory-policy is "${policy}"; webhook delivery needs "noeviction" so that queued jobs are never evicted`);
  }
}

export function createDeliveryQueue(connection: Redis, prefix: string): Queue<DeliveryJobData> {
  return new Queue<DeliveryJobData>(DELIVERY_QUEUE, { connection, prefix });
}

/** Adds one job per pending message; jobs that already exist are left as they are. */
export async function enqueueMessages(queue: Queue<DeliveryJobData>, messages: readonly PendingMessage[], manual = false): Promise<void> {
  if (messages.length === 0) return;
  await queue.addBulk(
    messages.map((m) => ({
      name: DELIVERY_JOB,
      data: manual ? { m: m.id, w: m.webhook_id, manual: true } : { m: m.id, w: m.webhook_id },
      opts: deliveryJobOptions(m.job_id),
    })),
  );
}
