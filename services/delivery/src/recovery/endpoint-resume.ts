import type { Queue } from 'bullmq';
import { unparkMessages, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import type { DeliveryMetrics } from '../delivery-metrics';
import { enqueueMessages, type DeliveryJobData } from '../queue/delivery-queue';

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
      const now = Date.now();
      const due = new Map(rows.map((m) => [m.id, Math.max(0, (m.next_attempt_at?.getTime() ?? now) - now)]));
      await enqueueMessages(q, rows, { delayFor: (m) => due.get(m.id) ?? 0 });
      metrics.resumed.inc(rows.length);
      return rows.length;
    } catch (err) {
      logger.warn({ err, webhook_id: webhookId }, 'resuming parked messages failed; the pending sweep will');
      throw err;
    }
  };
}
