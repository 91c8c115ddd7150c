import { Counter, Gauge, Histogram, type Registry } from '@vigil/service-runtime';

/**
 * The rule service's metrics, all in one place. Every input record ends in exactly one of: routed
 * (to the detection stage), unmatched (no enabled rule of its organization matches it) or dropped
 * with a reason. Every routed entry ends applied or dropped with a reason; every detection ends
 * as a created alert or a duplicate of a stored one.
 */
export interface RulesMetrics {
  routed: Counter<'source' | 'outcome'>;
  dropped: Counter<'stage' | 'reason'>;
  repartitioned: Counter<'source'>;
  applied: Counter<'source'>;
  detections: Counter<'reason'>;
  alerts: Counter<'outcome'>;
  stateWrites: Counter<'kind'>;
  published: Counter<'event_type'>;
  publishChecks: Counter<'outcome'>;
  batchSeconds: Histogram<'stage'>;
  retries: Counter<'stage'>;
  reloads: Counter<'outcome'>;
  rules: Gauge<'state'>;
  tasks: Gauge;
  publisherLeader: Gauge;
}

export function createRulesMetrics(registry: Registry): RulesMetrics {
  const registers = [registry];
  return {
    routed: new Counter({
      name: 'vigil_rules_input_records_total',
      help: 'Input records read by the routing stage, by outcome: routed (to at least one rule group) or unmatched (no enabled rule matches)',
      labelNames: ['source', 'outcome'],
      registers,
    }),
    dropped: new Counter({
      name: 'vigil_rules_records_dropped_total',
      help: 'Records dropped, by stage (route, detect) and reason',
      labelNames: ['stage', 'reason'],
      registers,
    }),
    repartitioned: new Counter({
      name: 'vigil_rules_repartitioned_total',
      help: 'Entries written to the re-partition topic (one per record and group key; packed into one message per partition and round)',
      labelNames: ['source'],
      registers,
    }),
    applied: new Counter({
      name: 'vigil_rules_records_applied_total',
      help: 'Routed records applied to rule state by the detection stage',
      labelNames: ['source'],
      registers,
    }),
    detections: new Counter({
      name: 'vigil_rules_evaluations_withheld_total',
      help: 'Matching records or detections the engine withheld, by reason: late (behind its group by more than the allowed lateness), stale (behind its stream by more than the max lag), suppressed (an alert of the group is too close)',
      labelNames: ['reason'],
      registers,
    }),
    alerts: new Counter({
      name: 'vigil_rules_alerts_total',
      help: 'Detections written to PostgreSQL, by outcome: created, duplicate (already stored: a replay), unknown_project',
      labelNames: ['outcome'],
      registers,
    }),
    stateWrites: new Counter({
      name: 'vigil_rules_state_writes_total',
      help: 'Rule state entries written (upsert) or deleted with the batch that changed them',
      labelNames: ['kind'],
      registers,
    }),
    published: new Counter({
      name: 'vigil_rules_alert_events_published_total',
      help: 'Alert events published to the alerts topic, by event type',
      labelNames: ['event_type'],
      registers,
    }),
    publishChecks: new Counter({
      name: 'vigil_rules_alert_events_checked_total',
      help: 'Alert events whose earlier publish was unconfirmed, by what the alerts topic showed: found (not sent again) or missing (sent)',
      labelNames: ['outcome'],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'vigil_rules_batch_duration_seconds',
      help: 'Time to process one partition batch, by stage',
      labelNames: ['stage'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    retries: new Counter({
      name: 'vigil_rules_batch_retries_total',
      help: 'Batches processed again after a transient failure (PostgreSQL, Kafka or registry unavailable, or a task taken over)',
      labelNames: ['stage'],
      registers,
    }),
    reloads: new Counter({
      name: 'vigil_rules_reloads_total',
      help: 'Rule set reads, by outcome (applied, failed)',
      labelNames: ['outcome'],
      registers,
    }),
    rules: new Gauge({
      name: 'vigil_rules_loaded',
      help: 'Enabled rules of the current rule set, by state (running, rejected: invalid definition)',
      labelNames: ['state'],
      registers,
    }),
    tasks: new Gauge({
      name: 'vigil_rules_detection_tasks',
      help: 'Re-partition topic partitions whose state this worker holds',
      registers,
    }),
    publisherLeader: new Gauge({
      name: 'vigil_rules_alert_publisher_leader',
      help: '1 while this worker is the one publishing alert events',
      registers,
    }),
  };
}
