import { SEVERITIES } from '@vigil/contracts';
import { WEBHOOK_ALERT_TYPES, type Webhook, type WebhookAttempt } from '@vigil/db';
import { z } from 'zod';
import { iso, isoOrNull, nullableTimestamp, timestamp } from '../resource-ids';

export const webhookSchema = z
  .object({
    id: z.uuid(),
    url: z.string(),
    description: z.string(),
    project_ids: z.array(z.number().int()).nullable().meta({ description: 'Only alerts of these projects; null: every project.' }),
    event_types: z.array(z.enum(WEBHOOK_ALERT_TYPES)).meta({ description: 'Alert events sent; empty: all of them.' }),
    min_severity: z.enum(SEVERITIES).nullable().meta({ description: 'Alerts below this severity are not sent; null: all.' }),
    headers: z.record(z.string(), z.string()).meta({ description: 'Extra request headers.' }),
    status: z.enum(['enabled', 'disabled']),
    disabled_reason: z.enum(['endpoint_gone', 'failing', 'manual']).nullable(),
    disabled_message: z.string().nullable(),
    disabled_at: nullableTimestamp,
    failure_count: z.number().int().meta({ description: 'Failed attempts since the last success.' }),
    first_failure_at: nullableTimestamp,
    last_failure_at: nullableTimestamp,
    last_success_at: nullableTimestamp,
    previous_secret_expires_at: nullableTimestamp.meta({ description: 'During a rotation: until when the previous secret also signs.' }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({ id: 'Webhook' });

export const webhookWithSecretSchema = webhookSchema
  .extend({ secret: z.string().meta({ description: 'whsec_…: verify signatures with it (Standard Webhooks).' }) })
  .meta({ id: 'WebhookWithSecret' });

const RESERVED_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type', 'content-length', 'host', 'user-agent', 'transfer-encoding', 'connection']);

const headers = z
  .record(
    z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'expected an HTTP header name'),
    z.string().max(2000).regex(/^[^\r\n\0]*$/, 'header values cannot contain line breaks'),
  )
  .refine((h) => Object.keys(h).length <= 20, 'at most 20 headers')
  .superRefine((h, ctx) => {
    for (const name of Object.keys(h)) {
      if (RESERVED_HEADERS.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: `${name} is set by Vigil` });
    }
  });

const url = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const u = new URL(value);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname !== '' && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, 'expected an http(s) URL without credentials')
  .meta({ description: 'Where alerts are POSTed. Private and loopback addresses are refused at delivery unless allow-listed.', format: 'uri', pattern: '^https?://[^/@\\s]+' });

const webhookFields = {
  url,
  description: z.string().max(1024).optional(),
  project_ids: z.array(z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)).max(1000).nullable().optional(),
  event_types: z.array(z.enum(WEBHOOK_ALERT_TYPES)).max(3).optional(),
  min_severity: z.enum(SEVERITIES).nullable().optional(),
  headers: headers.optional(),
};

export const createWebhookBody = z.strictObject(webhookFields).meta({ id: 'CreateWebhook' });
export const updateWebhookBody = z
  .strictObject({
    ...webhookFields,
    url: url.optional(),
    status: z.enum(['enabled', 'disabled']).optional().meta({ description: 'Disable or re-enable deliveries.' }),
  })
  .meta({ id: 'UpdateWebhook' });

export const rotateSecretBody = z
  .strictObject({
    grace_period_seconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400)
      .optional()
      .meta({ description: 'How long the current secret keeps signing next to the new one (default 86400; 0: stop at once).' }),
  })
  .optional()
  .meta({ id: 'RotateSecret' });

export function toWebhook(w: Webhook): z.output<typeof webhookSchema> {
  return {
    id: w.id,
    url: w.url,
    description: w.description,
    project_ids: w.project_ids,
    event_types: w.event_types,
    min_severity: w.min_severity,
    headers: w.headers,
    status: w.status,
    disabled_reason: w.disabled_reason,
    disabled_message: w.disabled_message,
    disabled_at: isoOrNull(w.disabled_at),
    failure_count: w.failure_count,
    first_failure_at: isoOrNull(w.first_failure_at),
    last_failure_at: isoOrNull(w.last_failure_at),
    last_success_at: isoOrNull(w.last_success_at),
    previous_secret_expires_at: w.previous_secret && w.previous_secret_expires_at && w.previous_secret_expires_at > new Date() ? iso(w.previous_secret_expires_at) : null,
    created_at: iso(w.created_at),
    updated_at: iso(w.updated_at),
  };
}

export const attemptSchema = z
  .object({
    id: z.number().int(),
    message_id: z.string(),
    attempt: z.number().int().meta({ description: 'Numbered per message, redeliveries included.' }),
    trigger: z.enum(['scheduled', 'manual']),
    started_at: timestamp,
    duration_ms: z.number(),
    url: z.string(),
    status_code: z.number().int().nullable(),
    error_class: z.string().nullable().meta({ description: 'null on success; see docs/webhooks.md for the classes.' }),
    error: z.string().nullable(),
    response_headers: z.record(z.string(), z.string()),
    response_body: z.string().meta({ description: 'At most 4 KiB.' }),
    response_body_truncated: z.boolean(),
    remote_address: z.string().nullable(),
  })
  .meta({ id: 'WebhookAttempt' });

export function toAttempt(a: WebhookAttempt): z.output<typeof attemptSchema> {
  return {
    id: a.id,
    message_id: a.message_id,
    attempt: a.attempt,
    trigger: a.trigger,
    started_at: iso(a.started_at),
    duration_ms: a.duration_ms,
    url: a.url,
    status_code: a.status_code,
    error_class: a.error_class,
    error: a.error,
    response_headers: a.response_headers,
    response_body: a.response_body,
    response_body_truncated: a.response_body_truncated,
    remote_address: a.remote_address,
  };
}

export const deliverySchema = z
  .object({
    id: z.string().meta({ description: 'The message id, sent as the webhook-id header.' }),
    event_type: z.enum(['alert.created', 'alert.updated', 'alert.resolved', 'webhook.test']),
    alert_id: z.string().nullable(),
    status: z.enum(['pending', 'delivered', 'failed']),
    failure_reason: z.enum(['attempts_exhausted', 'endpoint_gone', 'destination_refused', 'endpoint_disabled']).nullable(),
    attempts: z.number().int(),
    redeliveries: z.number().int(),
    next_attempt_at: nullableTimestamp,
    last_attempt_at: nullableTimestamp,
    delivered_at: nullableTimestamp,
    failed_at: nullableTimestamp,
    created_at: timestamp,
  })
  .meta({ id: 'WebhookDelivery' });

export const deliveryDetailSchema = deliverySchema
  .extend({
    payload: z.unknown().meta({ description: 'The exact JSON body sent.' }),
    attempt_log: z.array(attemptSchema).meta({ description: 'Every attempt, newest first.' }),
  })
  .meta({ id: 'WebhookDeliveryDetail' });

