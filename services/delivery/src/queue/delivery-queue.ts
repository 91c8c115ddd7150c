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
    // A job exists only while its message is being worked on: once it ends (delivered, failed,
    // or parked while its endpoint is in trouble) the id is free to be enqueued again.
    removeOnComplete: true,
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
export async function assertNoEviction(redis: Pick<Redis, 'config'>, logger: Pick<Logger, 'warn'>): Promise<void> {
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

export interface EnqueueOptions {
  /** Asked for by a person (redeliver, send test). */
  manual?: boolean;
  /**
   * Per message: add the job after this many milliseconds (0 = now), or null to add none and leave
   * the message parked in PostgreSQL (its endpoint is in trouble; it is enqueued on recovery).
   */
  delayFor?: (message: PendingMessage) => number | null;
}

/**
 * Adds one job per pending message (jobs that already exist are left as they are); returns the
 * messages `delayFor` left without a job, for the caller to mark as parked.
 */
export async function enqueueMessages(
  queue: Pick<Queue<DeliveryJobData>, 'addBulk'>,
  messages: readonly PendingMessage[],
  options: EnqueueOptions = {},
): Promise<PendingMessage[]> {
  const jobs = [];
  const parked: PendingMessage[] = [];
  for (const m of messages) {
    const delay = options.delayFor ? options.delayFor(m) : 0;
    if (delay === null) {
      parked.push(m);
      continue;
    }
    jobs.push({
      name: DELIVERY_JOB,
      data: options.manual ? { m: m.id, w: m.webhook_id, manual: true } : { m: m.id, w: m.webhook_id },
      opts: delay > 0 ? { ...deliveryJobOptions(m.job_id), delay } : deliveryJobOptions(m.job_id),
    });
  }
  if (jobs.length > 0) await queue.addBulk(jobs);
  return parked;
}
