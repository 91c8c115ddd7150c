/**
 * What other services use of delivery: the read API exposes "redeliver" and "send test" through
 * these, on the same queue the delivery workers consume. The deployable itself is src/main.ts.
 */
import type { Queue } from 'bullmq';
import type { Pool } from '@vigil/db';
import { redeliverMessage, type RedeliverResult } from './control/redeliver';
import { sendTestMessage, type SendTestResult } from './control/send-test';
import { createDeliveryQueue, redisConnection, type DeliveryJobData } from './queue/delivery-queue';

export { redeliverMessage, sendTestMessage, createDeliveryQueue, redisConnection };
export type { RedeliverResult, SendTestResult, DeliveryJobData };
export { deliveryConfigShape } from './config';
export type { DeliveryConfig } from './config';
export { startDelivery } from './delivery';
export type { RunningDelivery } from './delivery';

export interface DeliveryControl {
  redeliver(organizationId: number, messageId: string): Promise<RedeliverResult>;
  sendTest(organizationId: number, webhookId: string): Promise<SendTestResult>;
  close(): Promise<void>;
}

/**
 * Redeliver and send-test for a process that does not run delivery itself. `queuePrefix` must be
 * the delivery service's `VIGIL_DELIVERY_QUEUE_PREFIX`.
 */
export function createDeliveryControl(options: { pool: Pool; redisUrl: string; queuePrefix?: string }): DeliveryControl {
  const redis = redisConnection(options.redisUrl);
  const queue: Queue<DeliveryJobData> = createDeliveryQueue(redis, options.queuePrefix ?? 'vigil');
  return {
    redeliver: (organizationId, messageId) => redeliverMessage(options.pool, queue, organizationId, messageId),
    sendTest: (organizationId, webhookId) => sendTestMessage(options.pool, queue, organizationId, webhookId),
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}
