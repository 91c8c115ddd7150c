import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { getWebhook, insertMessages, type Pool } from '@vigil/db';
import { messageId, serializePayload } from '@vigil/webhook-signing';
import { enqueueMessages, type DeliveryJobData } from '../queue/delivery-queue';

export type SendTestResult =
  | { kind: 'sent'; messageId: string }
  | { kind: 'not_found' }
  /** Deliveries to a disabled endpoint fail without an attempt; enable it first. */
  | { kind: 'endpoint_disabled' };

/**
 * "Send test" (the API's `POST /v1/webhooks/{id}/test`): a `webhook.test` message through the same
 * path as alerts — signed, address-checked, retried, logged — so its attempt log shows exactly what
 * a real alert would meet.
 */
export async function sendTestMessage(pool: Pool, queue: Queue<DeliveryJobData>, organizationId: number, webhookId: string): Promise<SendTestResult> {
  const webhook = await getWebhook(pool, organizationId, webhookId);
  if (!webhook) return { kind: 'not_found' };
  if (webhook.status !== 'enabled') return { kind: 'endpoint_disabled' };
  const eventId = `test:${randomUUID()}`;
  const now = new Date();
  const payload = serializePayload('webhook.test', now, {
    webhook_id: webhook.id,
    message: 'This is a test delivery from Vigil. Verify its signature as you would for an alert.',
  });
  const id = messageId(eventId, webhook.id);
  const pending = await insertMessages(
    pool,
    [{ id: eventId, organizationId, projectId: null, type: 'webhook.test', alertId: null, payload, occurredAt: now }],
    [{ id, webhookId: webhook.id, eventId }],
  );
  await enqueueMessages(queue, pending, { manual: true });
  return { kind: 'sent', messageId: id };
}
