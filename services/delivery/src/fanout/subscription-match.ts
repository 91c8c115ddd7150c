import { SEVERITIES, type AlertRecord, type Severity } from '@vigil/contracts';
import type { WebhookSubscription } from '@vigil/db';

/**
 * Whether an endpoint wants an alert event. The organization and project filter are decided in
 * the database (subscriptionsForProjects); what remains depends on the event:
 *
 * - event type: the endpoint's list, or every type when the list is empty;
 * - severity: at least the endpoint's minimum (critical > high > medium > low > info);
 * - time: the event was written to the topic after the endpoint was created, so a new endpoint (or
 *   a replay of the topic) never floods an endpoint with alerts from before it existed.
 */
const RANK: Record<Severity, number> = Object.fromEntries(SEVERITIES.map((s, i) => [s, SEVERITIES.length - i])) as Record<Severity, number>;

export function wantsAlert(
  subscription: Pick<WebhookSubscription, 'event_types' | 'min_severity' | 'created_at'>,
  alert: Pick<AlertRecord, 'event_type' | 'severity'>,
  writtenAtMs: number,
): boolean {
  if (subscription.event_types.length > 0 && !subscription.event_types.includes(alert.event_type)) return false;
  if (subscription.min_severity !== null && RANK[alert.severity] < RANK[subscription.min_severity]) return false;
  return subscription.created_at.getTime() <= writtenAtMs;
}
