import type { AlertRecord } from '@vigil/contracts';
import { serializePayload } from '@vigil/webhook-signing';

/**
 * What a receiver gets for an alert event, and which alert events are "the same".
 *
 * Identity: an alert is created once, so every `alert.created` record of one alert is one event (a
 * rule engine that republishes it after a crash does not cause a second message). Updates and
 * resolutions are told apart by the alert's `updated_at_ms`: a replay of the topic maps to the same
 * events, a later acknowledgement to a new one. The event id feeds the message id (`webhook-id`).
 *
 * Body: `{"type","timestamp","data"}` with `timestamp` the time of the change (`updated_at`) and
 * `data` the alert, with times as RFC 3339 strings.
 */
export function alertEventId(alert: Pick<AlertRecord, 'id' | 'event_type' | 'updated_at_ms'>): string {
  return alert.event_type === 'alert.created' ? `alert:${alert.id}:created` : `alert:${alert.id}:${alert.event_type.slice('alert.'.length)}:${alert.updated_at_ms}`;
}

export interface AlertWebhookData {
  id: string;
  project_id: number;
  rule_id: string;
  rule_version: number;
  severity: AlertRecord['severity'];
  status: AlertRecord['status'];
  title: string;
  summary: string;
  group_key: string;
  group_values: Record<string, string>;
  window_start: string;
  window_end: string;
  value: number;
  threshold: number;
  first_seen: string;
  last_seen: string;
  evidence: unknown;
  tags: string[];
  created_at: string;
  updated_at: string;
  actor: string | null;
}

export function alertWebhookData(alert: AlertRecord): AlertWebhookData {
  return {
    id: alert.id,
    project_id: alert.project_id,
    rule_id: alert.rule_id,
    rule_version: alert.rule_version,
    severity: alert.severity,
    status: alert.status,
    title: alert.title,
    summary: alert.summary,
    group_key: alert.group_key,
    group_values: alert.group_values,
    window_start: iso(alert.window_start_ms),
    window_end: iso(alert.window_end_ms),
    value: alert.value,
    threshold: alert.threshold,
    first_seen: iso(alert.first_seen_ms),
    last_seen: iso(alert.last_seen_ms),
    evidence: alert.evidence ?? null,
    tags: alert.tags,
    created_at: iso(alert.created_at_ms),
    updated_at: iso(alert.updated_at_ms),
    actor: alert.actor,
  };
}

export interface AlertEventBody {
  id: string;
  occurredAt: Date;
  body: string;
}

export function alertEventBody(alert: AlertRecord): AlertEventBody {
  const occurredAt = new Date(iso(alert.updated_at_ms));
  return { id: alertEventId(alert), occurredAt, body: serializePayload(alert.event_type, occurredAt, alertWebhookData(alert)) };
}

function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
}
