import type { Queryable } from './pool';
import { isUuid } from './webhooks';

/**
 * What was sent to webhook endpoints: events (the request bodies), messages (one event for one
 * endpoint, the unit that is retried, failed and redelivered) and the attempt log.
 */
export type WebhookEventType = 'alert.created' | 'alert.updated' | 'alert.resolved' | 'webhook.test';
export type MessageStatus = 'pending' | 'delivered' | 'failed';
/**
 * Why a message failed: every attempt of the schedule failed; the endpoint answered 410; the address
 * policy refused the destination (or the URL/headers cannot be used); the endpoint was disabled before
 * the message's turn came.
 */
export type MessageFailureReason = 'attempts_exhausted' | 'endpoint_gone' | 'destination_refused' | 'endpoint_disabled';

export interface WebhookEventInput {
  id: string;
  organizationId: number;
  projectId: number | null;
  type: WebhookEventType;
  alertId: string | null;
  /** The exact request body. */
  payload: string;
  occurredAt: Date;
}

export interface MessageInput {
  /** The message id (`msg_…`), also the first job id. */
  id: string;
  webhookId: string;
  eventId: string;
}

export interface PendingMessage {
  id: string;
  webhook_id: string;
  job_id: string;
}

/**
 * Stores events and their messages idempotently and returns every given message that is still
 * pending — new ones and ones a previous run stored but did not finish — so a caller that enqueues
 * exactly these never loses a message and never resends a finished one.
 */
export async function insertMessages(db: Queryable, events: readonly WebhookEventInput[], messages: readonly MessageInput[]): Promise<PendingMessage[]> {
  if (messages.length === 0) return [];
  const uniqueEvents = [...new Map(events.map((e) => [e.id, e])).values()];
  const uniqueMessages = [...new Map(messages.map((m) => [m.id, m])).values()];
  // One statement (the foreign key is checked at its end). "do update … where pending" returns the
  // messages inserted now and the existing ones still pending. Named, as the statements delivery runs
  // for every batch: parsed and planned once per connection, not each time.
  const { rows } = await db.query<PendingMessage>({
    name: 'vigil_webhook_insert_messages',
    text: `with events as (
       insert into webhook_events (id, organization_id, project_id, type, alert_id, payload, occurred_at)
       select id, organization_id, project_id, type, alert_id, payload, occurred_at
       from json_to_recordset($1::json) as r(id text, organization_id bigint, project_id bigint, type text, alert_id text, payload text, occurred_at timestamptz)
       on conflict (id) do nothing
     )
     insert into webhook_messages (id, webhook_id, event_id, job_id, next_attempt_at)
     select id, webhook_id, event_id, id, now() from json_to_recordset($2::json) as r(id text, webhook_id uuid, event_id text)
     on conflict (id) do update set job_id = webhook_messages.job_id where webhook_messages.status = 'pending'
     returning id, webhook_id, job_id`,
    values: [
      JSON.stringify(
        uniqueEvents.map((e) => ({
          id: e.id,
          organization_id: e.organizationId,
          project_id: e.projectId,
          type: e.type,
          alert_id: e.alertId,
          payload: e.payload,
          occurred_at: e.occurredAt.toISOString(),
        })),
      ),
      JSON.stringify(uniqueMessages.map((m) => ({ id: m.id, webhook_id: m.webhookId, event_id: m.eventId }))),
    ],
  });
  return rows;
}

/** Everything one attempt needs, read fresh for every attempt (a changed URL or secret applies at once). */
export interface DeliverableMessage {
  id: string;
  webhook_id: string;
  organization_id: number;
  status: MessageStatus;
  attempts: number;
  job_id: string;
  type: WebhookEventType;
  payload: string;
  url: string;
  headers: Record<string, string>;
  /** Current secret first, then the previous one while its rotation grace lasts. */
  secrets: string[];
  webhook_status: 'enabled' | 'disabled';
  created_at: Date;
}

export async function loadDeliverableMessages(db: Queryable, ids: readonly string[]): Promise<DeliverableMessage[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<DeliverableMessage>({
    name: 'vigil_webhook_load_messages',
    text: `select m.id, m.webhook_id, w.organization_id, m.status, m.attempts, m.job_id, e.type, e.payload, w.url, w.headers,
       array_remove(array[w.secret, case when w.previous_secret_expires_at > now() then w.previous_secret end], null) as secrets,
       w.status as webhook_status, m.created_at
     from webhook_messages m
     join webhook_events e on e.id = m.event_id
     join webhooks w on w.id = m.webhook_id
     where m.id = any ($1::text[])`,
    values: [ids],
  });
  return rows;
}

/** Fails pending messages without an attempt (their endpoint was disabled before their turn). */
export async function failMessages(db: Queryable, ids: readonly string[], reason: MessageFailureReason): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `update webhook_messages set status = 'failed', failure_reason = $2, failed_at = now(), next_attempt_at = null, parked_at = null
     where id = any ($1::text[]) and status = 'pending' returning id`,
    [ids, reason],
  );
  return rows.map((r) => r.id);
}

export interface WebhookMessage {
  id: string;
  webhook_id: string;
  event_id: string;
  type: WebhookEventType;
  alert_id: string | null;
  payload: string;
  occurred_at: Date;
  status: MessageStatus;
  failure_reason: MessageFailureReason | null;
  attempts: number;
  job_id: string;
  redeliveries: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  failed_at: Date | null;
  created_at: Date;
}

const MESSAGE_COLUMNS = `m.id, m.webhook_id, m.event_id, e.type, e.alert_id, e.payload, e.occurred_at, m.status, m.failure_reason, m.attempts,
  m.job_id, m.redeliveries, m.next_attempt_at, m.last_attempt_at, m.delivered_at, m.failed_at, m.created_at`;

/** A message of this organization, or null. */
export async function getMessage(db: Queryable, organizationId: number, id: string): Promise<WebhookMessage | null> {
  const { rows } = await db.query<WebhookMessage>(
    `select ${MESSAGE_COLUMNS} from webhook_messages m join webhook_events e on e.id = m.event_id
     join webhooks w on w.id = m.webhook_id where w.organization_id = $1 and m.id = $2`,
    [organizationId, id],
  );
  return rows[0] ?? null;
}

/** Newest first; `before` is the last item of the previous page. */
export async function listMessages(
  db: Queryable,
  organizationId: number,
  webhookId: string,
  options: { status?: MessageStatus; limit?: number; before?: { createdAt: Date; id: string } } = {},
): Promise<WebhookMessage[]> {
  if (!isUuid(webhookId)) return [];
  const { rows } = await db.query<WebhookMessage>(
    `select ${MESSAGE_COLUMNS} from webhook_messages m join webhook_events e on e.id = m.event_id
     join webhooks w on w.id = m.webhook_id
     where w.organization_id = $1 and m.webhook_id = $2 and ($3::text is null or m.status = $3)
       and ($4::timestamptz is null or (m.created_at, m.id) < ($4, $5::text))
     order by m.created_at desc, m.id desc limit $6`,
    [organizationId, webhookId, options.status ?? null, options.before?.createdAt ?? null, options.before?.id ?? '', options.limit ?? 50],
  );
  return rows;
}

export type RedeliveryPlan =
  | { kind: 'not_found' }
  /** The message is still pending under this job: bring its next attempt forward instead. */
  | { kind: 'pending'; message: PendingMessage }
  /** The message is pending again under a new job id, which the caller enqueues. */
  | { kind: 'requeued'; message: PendingMessage };

/**
 * Puts a delivered or failed message back to pending under a fresh job id (`<id>.r<n>`), keeping its
 * `webhook-id` and its attempt numbering.
 */
export async function prepareRedelivery(db: Queryable, organizationId: number, messageId: string): Promise<RedeliveryPlan> {
  const { rows } = await db.query<PendingMessage & { requeued: boolean }>(
    `with target as (
       select m.id from webhook_messages m join webhooks w on w.id = m.webhook_id
       where w.organization_id = $1 and m.id = $2 for update of m
     ), moved as (
       update webhook_messages m set status = 'pending', failure_reason = null, failed_at = null, next_attempt_at = now(), parked_at = null,
         redeliveries = m.redeliveries + 1, job_id = m.id || '.r' || (m.redeliveries + 1)
       from target where m.id = target.id and m.status <> 'pending'
       returning m.id, m.webhook_id, m.job_id
     )
     select id, webhook_id, job_id, true as requeued from moved
     union all
     select m.id, m.webhook_id, m.job_id, false from webhook_messages m join target on target.id = m.id
     where not exists (select 1 from moved)`,
    [organizationId, messageId],
  );
  const row = rows[0];
  if (!row) return { kind: 'not_found' };
  const message = { id: row.id, webhook_id: row.webhook_id, job_id: row.job_id };
  return row.requeued ? { kind: 'requeued', message } : { kind: 'pending', message };
}

/**
 * Pending messages whose next attempt is overdue since before `dueBefore`, oldest first, parked ones
 * aside; their `next_attempt_at` is moved to now, so the next call looks at others first.
 */
export async function claimOverduePendingMessages(db: Queryable, dueBefore: Date, limit: number): Promise<PendingMessage[]> {
  const { rows } = await db.query<PendingMessage>(
    `update webhook_messages set next_attempt_at = now()
     where id in (select id from webhook_messages where status = 'pending' and parked_at is null and next_attempt_at < $1
                  order by next_attempt_at limit $2 for update skip locked)
     returning id, webhook_id, job_id`,
    [dueBefore, limit],
  );
  return rows;
}

/**
 * Marks pending messages as waiting without a queue job (their endpoint is busy or in trouble);
 * `unparkMessages` gives them back in the order they were parked.
 */
export async function parkMessages(db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query(`update webhook_messages set parked_at = now() where id = any ($1::text[]) and status = 'pending' and parked_at is null`, [ids]);
}

export interface UnparkedMessage extends PendingMessage {
  next_attempt_at: Date | null;
}

/**
 * Takes up to `limit` parked messages — of one endpoint, or (without `webhookId`) of any endpoint
 * parked before `parkedBefore` — oldest parked first, and clears their mark; the caller enqueues them.
 */
export async function unparkMessages(
  db: Queryable,
  options: { webhookId?: string; parkedBefore?: Date; limit: number },
): Promise<UnparkedMessage[]> {
  const { rows } = await db.query<UnparkedMessage>(
    `update webhook_messages set parked_at = null
     where id in (select id from webhook_messages
                  where parked_at is not null and status = 'pending' and ($1::uuid is null or webhook_id = $1)
                    and ($2::timestamptz is null or parked_at < $2)
                  order by parked_at, id limit $3 for update skip locked)
       and status = 'pending'
     returning id, webhook_id, job_id, next_attempt_at`,
    [options.webhookId ?? null, options.parkedBefore ?? null, options.limit],
  );
  return rows;
}

/** Removes finished messages (with their attempts) and events no message refers to any more, older than `before`. */
export async function pruneMessages(db: Queryable, before: Date, limit = 10_000): Promise<number> {
  const { rowCount } = await db.query(
    `delete from webhook_messages where id in (
       select id from webhook_messages where status <> 'pending' and created_at < $1 limit $2)`,
    [before, limit],
  );
  await db.query(
    `delete from webhook_events e where e.created_at < $1
       and not exists (select 1 from webhook_messages m where m.event_id = e.id)`,
    [before],
  );
  return rowCount ?? 0;
}
