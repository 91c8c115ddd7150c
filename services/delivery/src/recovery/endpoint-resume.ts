import type { Queue } from 'bullmq';
import { unparkMessages, type Pool, type UnparkedMessage } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import type { DeliveryMetrics } from '../delivery-metrics';
import { enqueueMessages, type DeliveryJobData } from '../queue/delivery-queue';

/** The queue operations resuming needs. */
export type ResumeQueue = Pick<Queue<DeliveryJobData>, 'getJobState' | 'remove' | 'addBulk'>;

export interface ResumeOptions {
  /** How often a message whose old job is still active is looked at again. Default 200 ms. */
  recheckMs?: number;
  /** How long that is done before the pending sweep is left to it. Default 60 s. */
  giveUpAfterMs?: number;
  now?: () => number;
}

/**
 * Gives an endpoint's parked messages their jobs back, oldest parked first, as many as the gate
 * asks for (it asks as the endpoint has room, and when it recovers). Each keeps its schedule: one
 * whose next attempt is still ahead is added delayed until then. PostgreSQL is the list, so
 * messages parked by any delivery process come back through whichever process has room.
 */
export function createEndpointResumer(pool: Pool, queue: () => Queue<DeliveryJobData> | null, metrics: DeliveryMetrics, logger: Logger) {
  return async (webhookId: string, limit: number): Promise<number> => {
    const q = queue();
    if (!q) return 0;
    try {
      const rows = await unparkMessages(pool, { webhookId, limit });
      await enqueueResumed(q, rows, logger);
      metrics.resumed.inc(rows.length);
      return rows.length;
    } catch (err) {
      logger.warn({ err, webhook_id: webhookId }, 'resuming parked messages failed; the pending sweep will');
      throw err;
    }
  };
}

/**
 * Adds jobs for messages just taken out of the parked list. A worker marks a message parked just
 * before its job ends, so the message can be taken back while that job is still active — and
 * BullMQ ignores a job added under the id of one that still exists: the message would be left with
 * no job at all until the pending sweep, minutes later. So the old job is looked up first: one
 * still active is waited for (its message is added once it is gone), one kept as failed is removed,
 * and one waiting or delayed already brings the message.
 */
export async function enqueueResumed(
  q: ResumeQueue,
  rows: readonly UnparkedMessage[],
  logger: Pick<Logger, 'warn'>,
  options: ResumeOptions = {},
): Promise<void> {
  const now = options.now ?? Date.now;
  const giveUpAt = now() + (options.giveUpAfterMs ?? 60_000);
  const add = async (messages: readonly UnparkedMessage[]): Promise<UnparkedMessage[]> => {
    const states = await Promise.all(messages.map((m) => q.getJobState(m.job_id)));
    const busy = messages.filter((_, i) => states[i] === 'active');
    const ended = messages.filter((_, i) => states[i] === 'completed' || states[i] === 'failed');
    await Promise.all(ended.map((m) => q.remove(m.job_id)));
    const free = [...messages.filter((_, i) => states[i] === 'unknown'), ...ended];
    const at = Date.now();
    const due = new Map(free.map((m) => [m.id, Math.max(0, (m.next_attempt_at?.getTime() ?? at) - at)]));
    await enqueueMessages(q, free, { delayFor: (m) => due.get(m.id) ?? 0 });
    return busy;
  };
  const busy = await add(rows);
  if (busy.length === 0) return;
  // Not awaited: the gate is told now that these are coming, and they come as their old jobs end.
  const retry = (messages: UnparkedMessage[]) => {
    const timer = setTimeout(() => {
      add(messages).then(
        (still) => {
          if (still.length === 0) return;
          if (now() < giveUpAt) retry(still);
          else logger.warn({ message_ids: still.map((m) => m.id) }, 'resumed messages whose old jobs are still active; the pending sweep will enqueue them');
        },
        (err: unknown) => logger.warn({ err }, 'resuming parked messages failed; the pending sweep will'),
      );
    }, options.recheckMs ?? 200);
    timer.unref();
  };
  retry(busy);
}
