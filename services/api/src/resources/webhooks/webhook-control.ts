import type { Pool } from '@vigil/db';
// The delivery service's own redeliver and send-test (what its createDeliveryControl wraps), imported
// by file so that the API loads only these and the queue definition, not the whole delivery worker;
// by path because deployables are not linked as packages until the next install.
import { redeliverMessage, type RedeliverResult } from '../../../../delivery/src/control/redeliver';
import { sendTestMessage, type SendTestResult } from '../../../../delivery/src/control/send-test';
import { createDeliveryQueue, redisConnection } from '../../../../delivery/src/queue/delivery-queue';

/** Test sends and redeliveries, on the queue the delivery workers consume. */
export interface WebhookControl {
  redeliver(organizationId: number, messageId: string): Promise<RedeliverResult>;
  sendTest(organizationId: number, webhookId: string): Promise<SendTestResult>;
  close(): Promise<void>;
}

/** `queuePrefix` must be the delivery service's VIGIL_DELIVERY_QUEUE_PREFIX. */
export function createWebhookControl(options: { pool: Pool; redisUrl: string; queuePrefix: string }): WebhookControl {
  const redis = redisConnection(options.redisUrl);
  const queue = createDeliveryQueue(redis, options.queuePrefix);
  return {
    redeliver: (organizationId, messageId) => redeliverMessage(options.pool, queue, organizationId, messageId),
    sendTest: (organizationId, webhookId) => sendTestMessage(options.pool, queue, organizationId, webhookId),
    async close() {
      await queue.close();
      redis.disconnect();
    },
  };
}
