import { signWebhook } from './signature';

/**
 * The request a receiver gets (CONTRACT.md §7): a JSON body `{"type","timestamp","data"}` and the
 * Standard Webhooks headers. The body is fixed per message (its `timestamp` is when the event
 * happened), so every retry carries the same bytes; only `webhook-timestamp` and the signature
 * are renewed per attempt.
 */
export const WEBHOOK_EVENT_TYPES = ['alert.created', 'alert.updated', 'alert.resolved', 'webhook.test'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface WebhookPayload<Data = unknown> {
  type: WebhookEventType;
  /** RFC 3339 time of the event, in UTC. */
  timestamp: string;
  data: Data;
}

export function serializePayload(type: WebhookEventType, occurredAt: Date, data: unknown): string {
  if (!WEBHOOK_EVENT_TYPES.includes(type)) throw new TypeError(`unknown webhook event type: ${String(type)}`);
  const payload: WebhookPayload = { type, timestamp: occurredAt.toISOString(), data };
  return JSON.stringify(payload);
}

export interface WebhookRequestOptions {
  /** Message id from messageId(); the receiver's idempotency key. */
  id: string;
  /** The serialized payload (serializePayload), identical on every attempt. */
  body: string;
  /** Current secret first, then any still in their rotation grace period. */
  secrets: readonly string[];
  /** For example `Vigil/0.1.0`. */
  userAgent: string;
  /** The endpoint's own headers. They cannot replace the headers this function sets. */
  customHeaders?: Readonly<Record<string, string>>;
  /** When this attempt is signed; defaults to now. */
  signedAt?: Date;
}

const RESERVED = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'content-type',
  'content-length',
  'user-agent',
  'host',
  'transfer-encoding',
  'connection',
]);

export function buildWebhookHeaders(options: WebhookRequestOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.customHeaders ?? {})) {
    if (!RESERVED.has(name.toLowerCase())) headers[name] = value;
  }
  const signature = signWebhook({
    id: options.id,
    body: options.body,
    secrets: options.secrets,
    ...(options.signedAt ? { timestamp: options.signedAt } : {}),
  });
  return {
    ...headers,
    ...signature,
    'content-type': 'application/json',
    'user-agent': options.userAgent,
  };
}
