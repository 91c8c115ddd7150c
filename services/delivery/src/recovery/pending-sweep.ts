import type { Queue } from 'bullmq';
import { claimOverduePendingMessages, pruneMessages, unparkMessages, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import type { DeliveryMetrics } from '../delivery-metrics';
import { deliveryJobOptions, DELIVERY_JOB, enqueueMessages, type DeliveryJobData } from '../queue/delivery-queue';

export interface PendingSweepOptions {
  pool: Pool;
  queue: Queue<DeliveryJobData>;
  intervalMs: number;
  /** A pending message overdue by this much is checked against the queue. */
  overdueMs: number;
  /** Finished messages older than this are removed (with their attempts). */
  retentionMs: number;
  metrics: DeliveryMetrics;
  logger: Logger;
  batch?: number;
}

export interface PendingSweep {
  /** One pass; returns how many messages were enqueued again. */
  runOnce(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * PostgreSQL is the record of what must still be delivered; Redis only schedules it. A pending
 * message whose next attempt is long overdue is looked up in the queue, and enqueued again when its
 * job is gone (parked while its endpoint was in trouble and no process saw it recover, Redis
 * restored from an older snapshot or flushed), or failed (the worker's own retries for database or
 * Redis outages ran out). Jobs that exist and wait — delayed, deferred by the endpoint gate,
 * active — are left alone. Each pass moves the messages it looked at to the back of the line, so a
 * large parked backlog is gone through in turn. The same pass prunes finished messages past their
 * retention.
 */
export function startPendingSweep(o: PendingSweepOptions): PendingSweep {
  let running: Promise<number> | null = null;
  let lastPrune = 0;

  const pass = async (): Promise<number> => {
    let requeued = 0;
    const overdue = await claimOverduePendingMessages(o.pool, new Date(Date.now() - o.overdueMs), o.batch ?? 500);
    for (const message of overdue) {
      const state = await o.queue.getJobState(message.job_id);
      if (state !== 'unknown' && state !== 'failed' && state !== 'completed') continue;
      if (state !== 'unknown') await o.queue.remove(message.job_id);
      await o.queue.add(DELIVERY_JOB, { m: message.id, w: message.webhook_id }, deliveryJobOptions(message.job_id));
      o.metrics.recovered.inc({ found: state === 'unknown' ? 'missing' : state });
      o.metrics.messagesEnqueued.inc({ origin: 'recovery' });
      requeued += 1;
    }
    // Parked messages no process has resumed (it never saw their endpoint recover, or it stopped).
    const stale = await unparkMessages(o.pool, { parkedBefore: new Date(Date.now() - o.overdueMs), limit: o.batch ?? 500 });
    await enqueueMessages(o.queue, stale);
    o.metrics.recovered.inc({ found: 'parked' }, stale.length);
    o.metrics.messagesEnqueued.inc({ origin: 'recovery' }, stale.length);
    requeued += stale.length;
    if (requeued) o.logger.warn({ requeued }, 'pending messages without a live queue job were enqueued again');
    if (Date.now() - lastPrune >= 3600_000) {
      lastPrune = Date.now();
      const pruned = await pruneMessages(o.pool, new Date(Date.now() - o.retentionMs));
      if (pruned) o.logger.info({ pruned }, 'finished webhook messages past retention removed');
    }
    return requeued;
  };

  const runOnce = () => {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  };

  const timer = setInterval(() => {
    runOnce().catch((err: unknown) => o.logger.error({ err }, 'pending message sweep failed'));
  }, o.intervalMs);
  timer.unref();

  return {
    runOnce,
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}
