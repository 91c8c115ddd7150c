import type { Queue } from 'bullmq';
import { pendingMessagesOfWebhook, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import type { DeliveryMetrics } from '../delivery-metrics';
import { enqueueMessages, type DeliveryJobData } from '../queue/delivery-queue';

/**
 * When an endpoint that was in trouble answers again, every pending message of it is enqueued —
 * the parked ones get their job back (at their scheduled time if that is still ahead), and the ones
 * whose job still exists are left as they are (same job id). PostgreSQL is the list, so messages
 * parked by any delivery process are resumed by whichever process sees the recovery; a process
 * that never sees it leaves them to the pending sweep.
 */
export function createEndpointResumer(pool: Pool, queue: () => Queue<DeliveryJobData> | null, metrics: DeliveryMetrics, logger: Logger) {
  const running = new Set<string>();
  const again = new Set<string>();

  const resume = async (webhookId: string, q: Queue<DeliveryJobData>): Promise<number> => {
    let afterId: string | undefined;
    let total = 0;
    for (;;) {
      const page = await pendingMessagesOfWebhook(pool, webhookId, { afterId, limit: 1000 });
      if (page.length === 0) break;
      const now = Date.now();
      const due = new Map(page.map((m) => [m.id, Math.max(0, (m.next_attempt_at?.getTime() ?? now) - now)]));
      await enqueueMessages(q, page, { delayFor: (m) => due.get(m.id) ?? 0 });
      total += page.length;
      afterId = page[page.length - 1]!.id;
      if (page.length < 1000) break;
    }
    return total;
  };

  return (webhookId: string): void => {
    const q = queue();
    if (!q) return;
    if (running.has(webhookId)) {
      again.add(webhookId);
      return;
    }
    running.add(webhookId);
    void (async () => {
      do {
        again.delete(webhookId);
        const resumed = await resume(webhookId, q);
        metrics.resumed.inc(resumed);
        if (resumed) logger.info({ webhook_id: webhookId, pending: resumed }, 'endpoint recovered; its pending messages were enqueued again');
      } while (again.has(webhookId));
    })()
      .catch((err: unknown) => logger.warn({ err, webhook_id: webhookId }, 'enqueueing the pending messages of a recovered endpoint failed; the pending sweep will'))
      .finally(() => running.delete(webhookId));
  };
}
