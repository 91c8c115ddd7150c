import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@vigil/logging';
import type { DeliveryMetrics } from '../delivery-metrics';
import { DELIVERY_QUEUE, type DeliveryJobData } from '../queue/delivery-queue';

export interface DeliveryWorkerOptions {
  connection: Redis;
  prefix: string;
  concurrency: number;
  /**
   * How long a claim on a job lasts without renewal. The worker renews it every half of this while
   * the request runs; when a process dies, its jobs return to the queue after about this long
   * (the stalled-job check runs at the same interval).
   */
  lockDurationMs: number;
  processor: (job: Job<DeliveryJobData>, token?: string) => Promise<string>;
  metrics: DeliveryMetrics;
  logger: Logger;
}

/**
 * The BullMQ worker. Its concurrency is the number of deliveries this process runs at once, shared
 * by all endpoints under the endpoint gate. A job whose process died mid-request returns to the
 * queue as stalled and runs again (the receiver may see that request twice, with the same
 * `webhook-id`); `maxStalledCount` is generous because a stall means a crash, not a bad message.
 */
export function startDeliveryWorker(o: DeliveryWorkerOptions): Worker<DeliveryJobData, string> {
  const worker = new Worker<DeliveryJobData, string>(DELIVERY_QUEUE, o.processor, {
    connection: o.connection,
    prefix: o.prefix,
    concurrency: o.concurrency,
    lockDuration: o.lockDurationMs,
    stalledInterval: o.lockDurationMs,
    maxStalledCount: 10,
    // Lets the worker pick up work within a second when it was idle and delayed jobs come due.
    drainDelay: 1,
  });
  worker.on('failed', (job, err) => {
    o.metrics.jobsErrored.inc();
    o.logger.error({ err, job_id: job?.id, attempts_made: job?.attemptsMade }, 'delivery job failed; BullMQ retries it with backoff');
  });
  worker.on('error', (err) => o.logger.error({ err }, 'delivery worker error'));
  return worker;
}
