import type { Queryable } from './pool';
import type { MessageFailureReason, MessageStatus } from './webhook-messages';
import { isUuid } from './webhooks';

/**
 * The attempt log, and what each attempt does to its message and endpoint. Attempts are written in
 * batches (one statement for many concurrent deliveries), numbered from the message's own counter.
 */
export type AttemptTrigger = 'scheduled' | 'manual';

// The start of the endpoint's unbroken run of failures after this batch: a success in the batch restarts
// it at the first failure after that success (or clears it); otherwise the run goes on. Written
// against the locked row (wh), so concurrent batches of one endpoint serialise correctly.
const RUN_START = `case when e.reset then case when e.failures = 0 then null else e.first_failure_at end
  else coalesce(wh.first_failure_at, e.first_failure_at) end`;
const DISABLE = `(wh.status = 'enabled' and (e.gone or (e.failures > 0 and ${RUN_START} <= now() - $3::float8 * interval '1 millisecond')))`;

/** One attempt and what it decided for its message and endpoint. */
export interface AttemptRecord {
  messageId: string;
  webhookId: string;
  trigger: AttemptTrigger;
  startedAt: Date;
  durationMs: number;
  url: string;
  statusCode: number | null;
  /** null on success. */
  errorClass: string | null;
  error: string | null;
  responseHeaders: Record<string, string>;
  /** At most 4 KiB of UTF-8 (the table refuses more). */
  responseBody: string;
  responseBodyTruncated: boolean;
  remoteAddress: string | null;
  /** The message afterwards: still pending (a retry is scheduled at nextAttemptAt), delivered or failed. */
  messageStatus: MessageStatus;
  failureReason: MessageFailureReason | null;
  nextAttemptAt: Date | null;
  /** For the endpoint: success resets its failure run, failure extends it, gone (410) disables it. */
  endpointResult: 'success' | 'failure' | 'gone';
}

export interface RecordedAttempts {
  /** message id → the attempt number given to its row. Missing when the message no longer exists. */
  attempts: Map<string, number>;
  /** Endpoints this call disabled, with the reason. */
  disabled: Array<{ webhookId: string; reason: 'endpoint_gone' | 'failing' }>;
}

/**
 * Writes a batch of attempts in one statement: the attempt rows (numbered from the message's own
 * counter, so redeliveries and restarts continue the sequence), the messages' new state, and each
 * endpoint's failure run — which disables an endpoint answering 410, or one whose failures have
 * gone on unbroken for `disableAfterMs`. Records of one endpoint must be in the order they finished.
 * `last_success_at` is kept to the minute.
 */
export async function recordAttempts(db: Queryable, records: readonly AttemptRecord[], options: { disableAfterMs: number }): Promise<RecordedAttempts> {
  if (records.length === 0) return { attempts: new Map(), disabled: [] };
  // One statement, so it can simply run again when concurrent batches touching the same endpoints
  // deadlock on their rows.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await recordOnce(db, records, options);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 5 || (code !== '40P01' && code !== '40001')) throw err;
    }
  }
}

async function recordOnce(db: Queryable, records: readonly AttemptRecord[], options: { disableAfterMs: number }): Promise<RecordedAttempts> {
  const endpoints = new Map<string, { webhook_id: string; reset: boolean; failures: number; first_failure_at: string | null; last_failure_at: string | null; last_success_at: string | null; gone: boolean }>();
  for (const r of records) {
    let e = endpoints.get(r.webhookId);
    if (!e) {
      e = { webhook_id: r.webhookId, reset: false, failures: 0, first_failure_at: null, last_failure_at: null, last_success_at: null, gone: false };
      endpoints.set(r.webhookId, e);
    }
    const at = r.startedAt.toISOString();
    if (r.endpointResult === 'success') {
      Object.assign(e, { reset: true, failures: 0, first_failure_at: null, last_success_at: at });
    } else {
      e.failures += 1;
      e.first_failure_at ??= at;
      e.last_failure_at = at;
      if (r.endpointResult === 'gone') e.gone = true;
    }
  }
  const attempts = records.map((r) => ({
    message_id: r.messageId,
    webhook_id: r.webhookId,
    trigger: r.trigger,
    started_at: r.startedAt.toISOString(),
    duration_ms: r.durationMs,
    url: r.url,
    status_code: r.statusCode,
    error_class: r.errorClass,
    error: r.error,
    response_headers: r.responseHeaders,
    response_body: r.responseBody,
    response_body_truncated: r.responseBodyTruncated,
    remote_address: r.remoteAddress,
    message_status: r.messageStatus,
    failure_reason: r.failureReason,
    next_attempt_at: r.nextAttemptAt?.toISOString() ?? null,
  }));
  // Named: parsed and planned once per connection rather than for every batch of attempts.
  const { rows } = await db.query<{ kind: 'attempt' | 'disabled'; id: string; attempt: number | null; reason: 'endpoint_gone' | 'failing' | null }>({
    name: 'vigil_webhook_record_attempts',
    text: `with r as (
       select * from json_to_recordset($1::json) as r(message_id text, webhook_id uuid, trigger text, started_at timestamptz,
         duration_ms float8, url text, status_code int, error_class text, error text, response_headers jsonb, response_body text,
         response_body_truncated bool, remote_address text, message_status text, failure_reason text, next_attempt_at timestamptz)
     ), m as (
       update webhook_messages wm set attempts = wm.attempts + 1, status = r.message_status, failure_reason = r.failure_reason,
         next_attempt_at = r.next_attempt_at, last_attempt_at = r.started_at, parked_at = null,
         delivered_at = case when r.message_status = 'delivered' then now() else wm.delivered_at end,
         failed_at = case when r.message_status = 'failed' then now() end
       from r where wm.id = r.message_id
       returning wm.id, wm.attempts
     ), a as (
       insert into webhook_attempts (message_id, webhook_id, attempt, trigger, started_at, duration_ms, url, status_code, error_class,
         error, response_headers, response_body, response_body_truncated, remote_address)
       select r.message_id, r.webhook_id, m.attempts, r.trigger, r.started_at, r.duration_ms, r.url, r.status_code, r.error_class,
         r.error, coalesce(r.response_headers, '{}'), coalesce(r.response_body, ''), coalesce(r.response_body_truncated, false), r.remote_address
       from r join m on m.id = r.message_id
       returning message_id, attempt
     ), e as (
       select * from json_to_recordset($2::json) as e(webhook_id uuid, reset bool, failures int, first_failure_at timestamptz,
         last_failure_at timestamptz, last_success_at timestamptz, gone bool)
     ), w as (
       update webhooks wh set
         failure_count = case when e.reset then 0 else wh.failure_count end + e.failures,
         first_failure_at = ${RUN_START},
         last_failure_at = coalesce(e.last_failure_at, wh.last_failure_at),
         last_success_at = coalesce(e.last_success_at, wh.last_success_at),
         status = case when ${DISABLE} then 'disabled' else wh.status end,
         disabled_reason = case when ${DISABLE} then case when e.gone then 'endpoint_gone' else 'failing' end else wh.disabled_reason end,
         disabled_message = case when ${DISABLE} then case when e.gone then 'the endpoint answered 410 Gone'
             else 'every attempt failed since ' || to_char(${RUN_START} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') end
           else wh.disabled_message end,
         disabled_at = case when ${DISABLE} then now() else wh.disabled_at end,
         updated_at = case when ${DISABLE} then now() else wh.updated_at end
       from e where wh.id = e.webhook_id
         -- A healthy endpoint's row is written at most once a minute (last_success_at), not per delivery.
         and (e.failures > 0 or wh.failure_count > 0 or wh.first_failure_at is not null
              or wh.last_success_at is null or wh.last_success_at < now() - interval '1 minute')
       returning wh.id, wh.status, wh.disabled_reason, wh.disabled_at
     )
     select 'attempt' as kind, message_id as id, attempt, null as reason from a
     union all
     -- disabled_at equals now() only on rows this statement disabled (now() is fixed per transaction).
     select 'disabled', id::text, null, disabled_reason from w where status = 'disabled' and disabled_at = now()`,
    values: [JSON.stringify(attempts), JSON.stringify([...endpoints.values()]), options.disableAfterMs],
  });
  const result: RecordedAttempts = { attempts: new Map(), disabled: [] };
  for (const row of rows) {
    if (row.kind === 'attempt') result.attempts.set(row.id, row.attempt!);
    else result.disabled.push({ webhookId: row.id, reason: row.reason! });
  }
  return result;
}

export interface WebhookAttempt {
  id: number;
  message_id: string;
  webhook_id: string;
  attempt: number;
  trigger: AttemptTrigger;
  started_at: Date;
  duration_ms: number;
  url: string;
  status_code: number | null;
  error_class: string | null;
  error: string | null;
  response_headers: Record<string, string>;
  response_body: string;
  response_body_truncated: boolean;
  remote_address: string | null;
}

/** The attempt log of an endpoint or of one message, newest first; `beforeId` pages. */
export async function listAttempts(
  db: Queryable,
  organizationId: number,
  filter: { webhookId?: string; messageId?: string; limit?: number; beforeId?: number },
): Promise<WebhookAttempt[]> {
  if (filter.webhookId !== undefined && !isUuid(filter.webhookId)) return [];
  const { rows } = await db.query<WebhookAttempt>(
    `select a.id, a.message_id, a.webhook_id, a.attempt, a.trigger, a.started_at, a.duration_ms, a.url, a.status_code, a.error_class,
       a.error, a.response_headers, a.response_body, a.response_body_truncated, a.remote_address
     from webhook_attempts a join webhooks w on w.id = a.webhook_id
     where w.organization_id = $1 and ($2::uuid is null or a.webhook_id = $2) and ($3::text is null or a.message_id = $3)
       and ($4::bigint is null or a.id < $4)
     order by a.id desc limit $5`,
    [organizationId, filter.webhookId ?? null, filter.messageId ?? null, filter.beforeId ?? null, filter.limit ?? 50],
  );
  return rows;
}
