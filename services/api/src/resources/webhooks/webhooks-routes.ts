import {
  createWebhook,
  deleteWebhook,
  disableWebhook,
  enableWebhook,
  getWebhook,
  listWebhooks,
  projectOrganizations,
  rotateWebhookSecret,
  updateWebhook,
  type Queryable,
} from '@vigil/db';
import { generateSecret } from '@vigil/webhook-signing';
import { z } from 'zod';
import type { ApiServices } from '../../api-app';
import { notFound } from '../../http/error-catalog';
import { pageOffset, pagePagination, pageQuery } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { createWebhookBody, rotateSecretBody, toWebhook, updateWebhookBody, webhookSchema, webhookWithSecretSchema } from './webhook-schemas';

export const webhookParams = z.object({ webhook_id: z.uuid() });

/** Every project a webhook filters on must be the organization's (404 naming the first that is not). */
async function checkProjects(db: Queryable, organizationId: number, projectIds: number[] | null | undefined): Promise<void> {
  if (!projectIds?.length) return;
  const owners = await projectOrganizations(db, projectIds);
  const foreign = projectIds.find((id) => owners.get(id) !== organizationId);
  if (foreign !== undefined) throw notFound(`project ${foreign}`);
}

/**
 * Webhook endpoints (`webhooks:read`, `webhooks:write`). The signing secret is shown when an endpoint
 * is created or its secret rotated, and on request to `webhooks:write` tokens; never in listings.
 */
export function webhookRoutes(s: ApiServices): AnyRoute[] {
  const find = async (organizationId: number, id: string) => {
    const webhook = await getWebhook(s.pool, organizationId, id);
    if (!webhook) throw notFound(`webhook ${id}`);
    return webhook;
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/webhooks',
      operationId: 'listWebhooks',
      summary: 'List webhook endpoints',
      tag: 'webhooks',
      auth: { scope: 'webhooks:read' },
      query: z.strictObject({ status: z.enum(['enabled', 'disabled']).optional(), ...pageQuery }),
      response: { kind: 'page', data: webhookSchema },
      handler: async ({ principal, query }) => {
        const { items, total } = await listWebhooks(s.pool, principal.organizationId, { ...pageOffset(query), status: query.status });
        return { items: items.map(toWebhook), pagination: pagePagination(query, total) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/webhooks',
      operationId: 'createWebhook',
      summary: 'Create a webhook endpoint (the response holds its signing secret)',
      tag: 'webhooks',
      auth: { scope: 'webhooks:write' },
      body: createWebhookBody,
      response: { kind: 'item', status: 201, data: webhookWithSecretSchema },
      errors: ['not_found'],
      handler: async ({ principal, body }) => {
        await checkProjects(s.pool, principal.organizationId, body.project_ids);
        const webhook = await createWebhook(s.pool, {
          organizationId: principal.organizationId,
          url: body.url,
          secret: generateSecret(),
          projectIds: body.project_ids ?? null,
          eventTypes: body.event_types,
          minSeverity: body.min_severity ?? null,
          headers: body.headers,
          description: body.description,
        });
        return { ...toWebhook(webhook), secret: webhook.secret };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/webhooks/{webhook_id}',
      operationId: 'getWebhook',
      summary: 'Get a webhook endpoint',
      tag: 'webhooks',
      auth: { scope: 'webhooks:read' },
      params: webhookParams,
      response: { kind: 'item', data: webhookSchema },
      handler: async ({ principal, params }) => toWebhook(await find(principal.organizationId, params.webhook_id)),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/v1/webhooks/{webhook_id}',
      operationId: 'updateWebhook',
      summary: 'Change a webhook endpoint, or disable / re-enable it',
      description: 'Re-enabling an endpoint starts its failure period afresh. Changes apply to the next attempt of every pending message.',
      tag: 'webhooks',
      auth: { scope: 'webhooks:write' },
      params: webhookParams,
      body: updateWebhookBody,
      response: { kind: 'item', data: webhookSchema },
      handler: async ({ principal, params, body }) => {
        const org = principal.organizationId;
        const current = await find(org, params.webhook_id);
        await checkProjects(s.pool, org, body.project_ids);
        let webhook = await updateWebhook(s.pool, org, current.id, {
          url: body.url,
          description: body.description,
          projectIds: body.project_ids,
          eventTypes: body.event_types,
          minSeverity: body.min_severity,
          headers: body.headers,
        });
        if (webhook && body.status !== undefined && body.status !== webhook.status) {
          webhook = body.status === 'enabled' ? await enableWebhook(s.pool, org, current.id) : await disableWebhook(s.pool, org, current.id, 'manual', `disabled by ${principal.tokenName}`);
        }
        if (!webhook) throw notFound(`webhook ${params.webhook_id}`);
        return toWebhook(webhook);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/webhooks/{webhook_id}',
      operationId: 'deleteWebhook',
      summary: 'Delete a webhook endpoint with its delivery log',
      tag: 'webhooks',
      auth: { scope: 'webhooks:write' },
      params: webhookParams,
      response: { kind: 'empty' },
      handler: async ({ principal, params }) => {
        if (!(await deleteWebhook(s.pool, principal.organizationId, params.webhook_id))) throw notFound(`webhook ${params.webhook_id}`);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/webhooks/{webhook_id}/secret',
      operationId: 'getWebhookSecret',
      summary: 'Get the signing secret of a webhook endpoint',
      tag: 'webhooks',
      auth: { scope: 'webhooks:write' },
      params: webhookParams,
      response: { kind: 'item', data: webhookWithSecretSchema },
      handler: async ({ principal, params }) => {
        const webhook = await find(principal.organizationId, params.webhook_id);
        return { ...toWebhook(webhook), secret: webhook.secret };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/webhooks/{webhook_id}/rotate-secret',
      operationId: 'rotateWebhookSecret',
      summary: 'Rotate the signing secret',
      description: 'The previous secret keeps signing beside the new one for the grace period, so receivers can switch at their own pace.',
      tag: 'webhooks',
      auth: { scope: 'webhooks:write' },
      params: webhookParams,
      body: rotateSecretBody,
      response: { kind: 'item', data: webhookWithSecretSchema },
      handler: async ({ principal, params, body }) => {
        const graceMs = (body?.grace_period_seconds ?? 86_400) * 1000;
        const webhook = await rotateWebhookSecret(s.pool, principal.organizationId, params.webhook_id, generateSecret(), graceMs);
        if (!webhook) throw notFound(`webhook ${params.webhook_id}`);
        return { ...toWebhook(webhook), secret: webhook.secret };
      },
    }),
  ];
}
