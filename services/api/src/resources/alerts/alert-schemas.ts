import { ALERT_STATUSES, SEVERITIES } from '@vigil/contracts';
import type { StoredAlert } from '@vigil/db';
import { z } from 'zod';
import { cursorQuery } from '../../http/pagination';
import { oneOrMore, timeRangeQuery } from '../list-filters';
import { iso, isoOrNull, nullableTimestamp, projectRef, timestamp } from '../resource-ids';

const alertFields = {
  id: z.string().regex(/^[0-9a-f]{32}$/),
  project_id: z.number().int(),
  rule_id: z.string(),
  rule_version: z.number().int(),
  rule_name: z.string(),
  severity: z.enum(SEVERITIES),
  status: z.enum(ALERT_STATUSES),
  title: z.string(),
  summary: z.string(),
  group_key: z.string().meta({ description: 'The group values as a canonical JSON array.' }),
  group_values: z.record(z.string(), z.string()),
  window_start: timestamp,
  window_end: timestamp,
  value: z.number().meta({ description: 'The count, distinct count or sum that crossed the threshold (1 for single-record rules).' }),
  threshold: z.number(),
  first_seen: timestamp,
  last_seen: timestamp,
  detected_at: timestamp,
  tags: z.array(z.string()),
  created_at: timestamp,
  updated_at: timestamp,
  acknowledged_at: nullableTimestamp,
  acknowledged_by: z.string().nullable().meta({ description: 'Name of the token that acknowledged it.' }),
  resolved_at: nullableTimestamp,
  resolved_by: z.string().nullable(),
};

export const alertSchema = z.object(alertFields).meta({ id: 'Alert' });

export const alertDetailSchema = z
  .object({
    ...alertFields,
    evidence: z.unknown().meta({ description: 'What the detection saw: sample event ids, or a flow summary with top values.' }),
    events: z
      .array(
        z.object({
          type: z.enum(['alert.created', 'alert.updated', 'alert.resolved']),
          at: timestamp,
          actor: z.string().nullable(),
          published: z.boolean().meta({ description: 'Sent to the alerts topic (and from there to webhooks).' }),
        }),
      )
      .meta({ description: 'What happened to the alert, oldest first.' }),
  })
  .meta({ id: 'AlertDetail' });

export const listAlertsQuery = z.strictObject({
  status: oneOrMore(ALERT_STATUSES, 'statuses').optional().meta({ description: 'open, acknowledged or resolved; several comma-separated.' }),
  severity: oneOrMore(SEVERITIES, 'severities').optional().meta({ description: 'Several comma-separated.' }),
  rule: z.string().min(1).max(128).optional().meta({ description: 'Rule id.' }),
  project: projectRef.optional(),
  ...timeRangeQuery,
  ...cursorQuery,
});

export function toAlert(a: StoredAlert): z.output<typeof alertSchema> {
  return {
    id: a.id,
    project_id: a.project_id,
    rule_id: a.rule_id,
    rule_version: a.rule_version,
    rule_name: a.rule_name,
    severity: a.severity,
    status: a.status,
    title: a.title,
    summary: a.summary,
    group_key: a.group_key,
    group_values: a.group_values,
    window_start: iso(a.window_start),
    window_end: iso(a.window_end),
    value: a.value,
    threshold: a.threshold,
    first_seen: iso(a.first_seen),
    last_seen: iso(a.last_seen),
    detected_at: iso(a.detected_at),
    tags: a.tags,
    created_at: iso(a.created_at),
    updated_at: iso(a.updated_at),
    acknowledged_at: isoOrNull(a.acknowledged_at),
    acknowledged_by: a.acknowledged_by,
    resolved_at: isoOrNull(a.resolved_at),
    resolved_by: a.resolved_by,
  };
}
