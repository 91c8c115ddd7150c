import type { Queue } from 'bullmq';
import { prepareRedelivery, type Pool } from '@vigil/db';
import { deliveryJobOptions, DELIVERY_JOB, enqueueMessages, type DeliveryJobData } from '../queue/delivery-queue';

/**
 * - `requeued`: the message was delivered or failed; it is pending again with a fresh job and is
 *   attempted now (with the same `webhook-id`, its attempt numbering continued).
 * - `promoted`: it was still waiting for a retry; that retry happens now instead.
 * - `in_progress`: an attempt is running or about to; nothing to do.
 * - `not_found`: no such message in this organization.
 */
export type RedeliverResult = 'requeued' | 'promoted' | 'in_progress' | 'not_found';

/** Manual redelivery of one message (the API's `POST /v1/webhooks/{id}/deliveries/{message}/redeliver`). */
export async function redeliverMessage(pool: Pool, queue: Queue<DeliveryJobData>, organizationId: number, messageId: string): Promise<RedeliverResult> {
  const plan = await prepareRedelivery(pool, organizationId, messageId);
  if (plan.kind === 'not_found') return 'not_found';
  if (plan.kind === 'requeued') {
    await enqueueMessages(queue, [plan.message], { manual: true });
    return 'requeued';
  }
  const { message } = plan;
  const job = await queue.getJob(message.job_id);
  const state = job ? await job.getState() : 'unknown';
  if (job && state === 'delayed') {
    await job.updateData({ m: message.id, w: message.webhook_id, manual: true });
    await job.promote();
    return 'promoted';
  }
  if (job && state !== 'failed' && state !== 'completed' && state !== 'unknown') return 'in_progress';
  // Pending without a live job (its worker retries ran out, or Redis lost it): give it one.
  if (job) await job.remove();
  await queue.add(DELIVERY_JOB, { m: message.id, w: message.webhook_id, manual: true }, deliveryJobOptions(message.job_id));
  return 'requeued';
}
