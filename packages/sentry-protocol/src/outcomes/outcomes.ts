/**
 * Outcomes, as Relay reports them: every item Vigil receives ends in exactly one outcome, and every
 * outcome other than `accepted` carries a reason code from this catalogue. The ingest service counts
 * `(outcome, reason, category)` in its metrics and uses `status` and `message` for 4xx/5xx bodies.
 */

export const OUTCOMES = ['accepted', 'filtered', 'rate_limited', 'invalid', 'client_discard'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface ReasonSpec {
  readonly outcome: Exclude<Outcome, 'accepted'>;
  /** HTTP status when this reason rejects a whole request; null for item-level drops inside a 200. */
  readonly status: number | null;
  readonly message: string;
}

export const REASONS = {
  // Authentication (CONTRACT.md §4).
  missing_auth: { outcome: 'invalid', status: 401, message: 'missing authorization information' },
  multiple_auth: { outcome: 'invalid', status: 401, message: 'multiple authorization payloads detected' },
  invalid_auth: { outcome: 'invalid', status: 401, message: 'malformed authorization payload' },
  invalid_key: { outcome: 'invalid', status: 403, message: 'unknown or revoked public key' },
  project_id_mismatch: {
    outcome: 'invalid',
    status: 403,
    message: 'the credentials name a different project than the request path',
  },
  unsupported_protocol_version: { outcome: 'invalid', status: 400, message: 'unsupported protocol version' },
  method_not_allowed: { outcome: 'invalid', status: 405, message: 'only POST is accepted here' },

  // Reading the body.
  payload_too_large: { outcome: 'invalid', status: 413, message: 'payload exceeds the size limit' },
  unsupported_content_encoding: { outcome: 'invalid', status: 415, message: 'unsupported content encoding' },
  unsupported_content_type: { outcome: 'invalid', status: 415, message: 'unsupported content type' },
  invalid_compression: { outcome: 'invalid', status: 400, message: 'invalid compressed body' },
  body_read_failed: { outcome: 'invalid', status: 400, message: 'failed to read the request body' },
  empty_body: { outcome: 'invalid', status: 400, message: 'empty request body' },

  // Parsing.
  invalid_envelope: { outcome: 'invalid', status: 400, message: 'invalid envelope' },
  invalid_base64: { outcome: 'invalid', status: 400, message: 'invalid base64 store body' },
  invalid_json: { outcome: 'invalid', status: 400, message: 'invalid JSON' },
  invalid_event: { outcome: 'invalid', status: 400, message: 'invalid event payload' },
  invalid_native_event: { outcome: 'invalid', status: 400, message: 'invalid native event' },
  // Flow ingest (`/api/{project_id}/flows/`).
  invalid_flow_body: { outcome: 'invalid', status: 400, message: 'not IPFIX messages or length-prefixed NetFlow datagrams' },
  missing_template: { outcome: 'invalid', status: 422, message: 'data for a template this key has not sent; resend the templates' },

  // Items skipped inside an accepted request.
  unknown_item_type: { outcome: 'invalid', status: null, message: 'item type is not processed' },
  attachment_dropped: { outcome: 'invalid', status: null, message: 'attachments are not stored' },

  // Quotas.
  key_rate_limit: { outcome: 'rate_limited', status: 429, message: 'rate limit exceeded for this key' },

  // Server side.
  event_log_unavailable: { outcome: 'invalid', status: 503, message: 'event log temporarily unavailable' },
  key_lookup_unavailable: { outcome: 'invalid', status: 503, message: 'key look-up temporarily unavailable' },
  internal: { outcome: 'invalid', status: 500, message: 'internal error' },
} as const satisfies Record<string, ReasonSpec>;

export type ReasonCode = keyof typeof REASONS;

export function isReasonCode(value: unknown): value is ReasonCode {
  return typeof value === 'string' && Object.hasOwn(REASONS, value);
}

/**
 * Data categories: what an item counts as in metrics and rate limits (Relay's `DataCategory`,
 * reduced to what Vigil distinguishes).
 */
export const CATEGORIES = [
  'error',
  'transaction',
  'security',
  'attachment',
  'session',
  'client_report',
  'user_report',
  'profile',
  'replay',
  'monitor',
  'span',
  'log',
  'metric',
  'native',
  'flow',
  'unknown',
] as const;
export type DataCategory = (typeof CATEGORIES)[number];

/** Envelope item types Sentry SDKs send, with the category each counts as. */
const ITEM_CATEGORIES: Readonly<Record<string, DataCategory>> = {
  event: 'error',
  transaction: 'transaction',
  security: 'security',
  raw_security: 'security',
  nel: 'security',
  attachment: 'attachment',
  form_data: 'attachment',
  unreal_report: 'error',
  session: 'session',
  sessions: 'session',
  client_report: 'client_report',
  user_report: 'user_report',
  feedback: 'user_report',
  profile: 'profile',
  profile_chunk: 'profile',
  replay_event: 'replay',
  replay_recording: 'replay',
  replay_video: 'replay',
  check_in: 'monitor',
  span: 'span',
  otel_span: 'span',
  otel_traces_data: 'span',
  log: 'log',
  otel_log: 'log',
  statsd: 'metric',
  metric_buckets: 'metric',
  trace_metric: 'metric',
};

/** The category an envelope item of this type counts as; `unknown` for types Vigil does not know. */
export function itemCategory(itemType: string): DataCategory {
  return Object.hasOwn(ITEM_CATEGORIES, itemType) ? (ITEM_CATEGORIES[itemType] as DataCategory) : 'unknown';
}

/** Whether Sentry SDKs define this envelope item type (unknown types are skipped and counted). */
export function isKnownItemType(itemType: string): boolean {
  return Object.hasOwn(ITEM_CATEGORIES, itemType);
}

/** Item types that carry a Sentry event and are normalized into `vigil.events.v1`. */
export const EVENT_ITEM_TYPES: ReadonlySet<string> = new Set(['event', 'transaction']);
