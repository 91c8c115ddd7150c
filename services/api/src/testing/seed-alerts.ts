import { randomBytes } from 'node:crypto';
import { insertDetectedAlerts, type DetectedAlert, type Queryable } from '@vigil/db';

/** Stores detections as the rule workers do; returns their ids in the given order. */
export async function seedAlerts(db: Queryable, alerts: Array<Partial<DetectedAlert> & { project_id: number }>): Promise<string[]> {
  const now = Date.now();
  const detected: DetectedAlert[] = alerts.map((a, i) => ({
    id: randomBytes(16).toString('hex'),
    rule_id: 'brute-force',
    rule_version: 1,
    rule_name: 'Brute force',
    severity: 'high',
    title: 'Brute force from 203.0.113.9',
    summary: '12 failed logins in 5m',
    group_key: '["203.0.113.9"]',
    group_values: { client_ip: '203.0.113.9' },
    window_start_ms: now - 300_000,
    window_end_ms: now,
    value: 12,
    threshold: 10,
    first_seen_ms: now - 290_000 + i,
    last_seen_ms: now - 10_000,
    detected_at_ms: now - 10_000,
    evidence: { sample_event_ids: ['a'.repeat(32)] },
    tags: ['auth'],
    ...a,
  }));
  await insertDetectedAlerts(db, detected);
  return detected.map((d) => d.id);
}
