import { listAttempts } from '@vigil/db';
import { z } from 'zod';
import type { ApiServices } from '../../api-app';
import { conflict, invalid, notFound } from '../../http/error-catalog';
import { cursorPage, cursorPosition, cursorQuery } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { deliveryPosition, findDelivery, queryDeliveries, toDelivery } from './delivery-query';
import { attemptSchema, deliveryDetailSchema, deliverySchema, toAttempt } from './webhook-schemas';
import { webhookParams } from './webhooks-routes';

const messageParams = webhookParams.extend({ message_id: z.string().regex(/^msg_[a-z2-7]{32}$/, 'expected a delivery id (msg_…)') });

/**
 * What was sent to an endpoint (`webhooks:read`) and the two actions on it (`webhooks:write`): a test
 * message and the redelivery of a message. Both go through the delivery service's queue, so they are
 * signed, address-checked, retried and logged exactly like alerts.
 */
export function deliveryRoutes(s: ApiServices): AnyRoute[] {
  return [
    defineRoute({
      method: 'POST',
      path: '/v1/webhooks/{webhook_id}/test',
      operationId: 'sendWebhookTest',
      summary: 'Send a webhook.test message',
      description: 'Queued at once; its attempts appear in the delivery log. A disabled endpoint is refused (409): enable it first.',
      tag: 'webhooks',
      auth: { scope: 'webhooks:write' },
      params: webhookParams,
      response: { kind: 'item', status: 202, data: z.object({ message_id: z.string() }).meta({ id: 'WebhookTestQueued' }) },
      errors: ['conflict'],
      handler: async ({ principal, params }) => {
        const result = await s.delivery.sendTest(principal.organizationId, params.webhook_id);
        if (result.kind === 'not_found') throw notFound(`webhook ${params.webhook_id}`);
        if (result.kind === 'endpoint_disabled') throw conflict('the endpoint is disabled; enable it before sending a test');
        return { message_id: result.messageId };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/webhooks/{webhook_id}/deliveries',
      operationId: 'listWebhookDeliveries',
      summary: 'Messages sent (or being sent) to the endpoint, newest first',
      tag: 'webhooks',
      auth: { scope: 'webhooks:read' },
      params: webhookParams,
      query: z.strictObject({ status: z.enum(['pending', 'delivered', 'failed']).optional(), ...cursorQuery }),
      response: { kind: 'cursor', data: deliverySchema },
      handler: async ({ principal, params, query }) => {
        const after = cursorPosition('deliveries', query.after);
        const rows = await queryDeliveries(s.pool, principal.organizationId, params.webhook_id, { status: query.status, after, limit: query.limit + 1 });
        if (rows.length === 0) await ensureWebhook(s, principal.organizationId, params.webhook_id);
        const page = cursorPage('deliveries', rows, query.limit, deliveryPosition);
        return { items: page.items.map(toDelivery), pagination: page.pagination };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/webhooks/{webhook_id}/deliveries/{message_id}',
      operationId: 'getWebhookDelivery',
      summary: 'One message with its payload and attempt log',
      tag: 'webhooks',
      auth: { scope: 'webhooks:read' },
      params: messageParams,
      response: { kind: 'item', data: deliveryDetailSchema },
      handler: async ({ principal, params }) => {
        const row = await findDelivery(s.pool, principal.organizationId, params.webhook_id, params.message_id);
        if (!row) throw notFound(`delivery ${params.message_id}`);
        const attempts = await listAttempts(s.pool, principal.organizationId, { messageId: row.id, limit: 1000 });
        let payload: unknown = row.payload;
        try {
          payload = JSON.parse(row.payload);
        } catch {
          // sent as text
        }
        return { ...toDelivery(row), payload, attempt_log: attempts.map(toAttempt) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/webhooks/{webhook_id}/deliveries/{message_id}/redeliver',
      operationId: 'redeliverWebhookMessage',
      summary: 'Send a message again',
      description:
        'A delivered or failed message is attempted again now, with the same webhook-id (`requeued`); one waiting for a retry ' +
        'has that retry brought forward (`promoted`); one being attempted right now is left alone (`in_progress`).',
      tag: 'webhooks',
      auth: { scope: 'webhooks:write' },
      params: messageParams,
      response: {
        kind: 'item',
        status: 202,
        data: z.object({ message_id: z.string(), result: z.enum(['requeued', 'promoted', 'in_progress']) }).meta({ id: 'RedeliveryQueued' }),
      },
      handler: async ({ principal, params }) => {
        const row = await findDelivery(s.pool, principal.organizationId, params.webhook_id, params.message_id);
        if (!row) throw notFound(`delivery ${params.message_id}`);
        const result = await s.delivery.redeliver(principal.organizationId, row.id);
        if (result === 'not_found') throw notFound(`delivery ${params.message_id}`);
        return { message_id: row.id, result };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/webhooks/{webhook_id}/attempts',
      operationId: 'listWebhookAttempts',
      summary: "The endpoint's attempt log, newest first",
      tag: 'webhooks',
      auth: { scope: 'webhooks:read' },
      params: webhookParams,
      query: z.strictObject(cursorQuery),
      response: { kind: 'cursor', data: attemptSchema },
      handler: async ({ principal, params, query }) => {
        const after = cursorPosition('attempts', query.after);
        if (after && !/^\d{1,18}$/.test(after.id)) throw invalid('after', 'not a cursor issued by this endpoint');
        const beforeId = after ? Number(after.id) : undefined;
        const rows = await listAttempts(s.pool, principal.organizationId, { webhookId: params.webhook_id, limit: query.limit + 1, beforeId });
        if (rows.length === 0) await ensureWebhook(s, principal.organizationId, params.webhook_id);
        const page = cursorPage('attempts', rows, query.limit, (a) => ({ timeUs: 0n, id: String(a.id) }));
        return { items: page.items.map(toAttempt), pagination: page.pagination };
      },
    }),
  ];
}

/** An empty log of an endpoint that is not the organization's is a 404, not an empty list. */
async function ensureWebhook(s: ApiServices, organizationId: number, webhookId: string): Promise<void> {
  const { rowCount } = await s.pool.query('select 1 from webhooks where organization_id = $1 and id = $2', [organizationId, webhookId]);
  if (!rowCount) throw notFound(`webhook ${webhookId}`);
}
