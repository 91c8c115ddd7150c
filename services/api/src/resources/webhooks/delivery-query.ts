import type { MessageFailureReason, MessageStatus, Queryable, WebhookEventType } from '@vigil/db';
import type { z } from 'zod';
import type { CursorPosition } from '../../http/cursor';
import type { deliverySchema } from './webhook-schemas';

/**
 * An endpoint's messages (deliveries), newest first, keyset-paged on (created_at, id) at full
 * microsecond precision so messages created within one millisecond are neither skipped nor repeated.
 */
export interface DeliveryRow {
  id: string;
  event_type: WebhookEventType;
  alert_id: string | null;
  payload: string;
  status: MessageStatus;
  failure_reason: MessageFailureReason | null;
  attempts: number;
  redeliveries: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  failed_at: Date | null;
  created_at: Date;
  position_us: string;
}

const COLUMNS = `m.id, e.type as event_type, e.alert_id, e.payload, m.status, m.failure_reason, m.attempts, m.redeliveries, m.next_attempt_at,
  m.last_attempt_at, m.delivered_at, m.failed_at, m.created_at, (extract(epoch from m.created_at) * 1000000)::int8::text as position_us`;

export async function queryDeliveries(
  db: Queryable,
  organizationId: number,
  webhookId: string,
  f: { status?: MessageStatus; after: CursorPosition | null; limit: number },
): Promise<DeliveryRow[]> {
  const at = "(timestamptz 'epoch' + $4::int8 * interval '1 microsecond')";
  const { rows } = await db.query<DeliveryRow>(
    `select ${COLUMNS} from webhook_messages m join webhook_events e on e.id = m.event_id join webhooks w on w.id = m.webhook_id
     where w.organization_id = $1 and m.webhook_id = $2 and ($3::text is null or m.status = $3)
       and ($4::int8 is null or (m.created_at <= ${at} and (m.created_at, m.id) < (${at}, $5::text)))
     order by m.created_at desc, m.id desc limit $6`,
    [organizationId, webhookId, f.status ?? null, f.after?.timeUs.toString() ?? null, f.after?.id ?? '', f.limit],
  );
  return rows;
}

export async function findDelivery(db: Queryable, organizationId: number, webhookId: string, messageId: string): Promise<DeliveryRow | null> {
  const { rows } = await db.query<DeliveryRow>(
    `select ${COLUMNS} from webhook_messages m join webhook_events e on e.id = m.event_id join webhooks w on w.id = m.webhook_id
     where w.organization_id = $1 and m.webhook_id = $2 and m.id = $3`,
    [organizationId, webhookId, messageId],
  );
  return rows[0] ?? null;
}

export const deliveryPosition = (r: DeliveryRow): CursorPosition => ({ timeUs: BigInt(r.position_us), id: r.id });

export function toDelivery(r: DeliveryRow): z.output<typeof deliverySchema> {
  const time = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: r.id,
    event_type: r.event_type,
    alert_id: r.alert_id,
    status: r.status,
    failure_reason: r.failure_reason,
    attempts: r.attempts,
    redeliveries: r.redeliveries,
    next_attempt_at: time(r.next_attempt_at),
    last_attempt_at: time(r.last_attempt_at),
    delivered_at: time(r.delivered_at),
    failed_at: time(r.failed_at),
    created_at: r.created_at.toISOString(),
  };
}
