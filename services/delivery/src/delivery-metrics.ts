import { Counter, Gauge, Histogram, type Registry } from '@vigil/service-runtime';

/**
 * Every metric delivery exposes, in one place (docs/delivery.md lists them). Nothing is dropped,
 * deferred or failed without a counter and a reason label.
 */
export function createDeliveryMetrics(registry: Registry) {
  const registers = [registry];
  return {
    alertsConsumed: new Counter({
      name: 'vigil_delivery_alerts_consumed_total',
      help: 'Alert events read from the alerts topic, by event type',
      labelNames: ['event_type'],
      registers,
    }),
    alertsDropped: new Counter({
      name: 'vigil_delivery_alerts_dropped_total',
      help: 'Alert records not fanned out, by reason (undecodable, invalid_record and empty_value are dead-lettered; unknown_project is not)',
      labelNames: ['reason'],
      registers,
    }),
    alertsUnsubscribed: new Counter({
      name: 'vigil_delivery_alerts_without_subscribers_total',
      help: 'Alert events that no enabled endpoint wanted',
      registers,
    }),
    messagesEnqueued: new Counter({
      name: 'vigil_delivery_messages_enqueued_total',
      help: 'Messages handed to the delivery queue, by origin (fanout, recovery)',
      labelNames: ['origin'],
      registers,
    }),
    attempts: new Counter({
      name: 'vigil_delivery_attempts_total',
      help: 'Delivery attempts, by what they decided (delivered, retry, disable_endpoint, fail) and error class (none on success)',
      labelNames: ['action', 'error_class'],
      registers,
    }),
    attemptSeconds: new Histogram({
      name: 'vigil_delivery_attempt_duration_seconds',
      help: 'Duration of delivery attempts, from the start of the request to the outcome',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
      registers,
    }),
    endToEndSeconds: new Histogram({
      name: 'vigil_delivery_end_to_end_seconds',
      help: 'From the message created (alert fanned out) to its delivery, for messages delivered on their first attempt',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    messagesFinished: new Counter({
      name: 'vigil_delivery_messages_finished_total',
      help: 'Messages that reached a final state: delivered, or failed with a reason',
      labelNames: ['status', 'reason'],
      registers,
    }),
    jobsSkipped: new Counter({
      name: 'vigil_delivery_jobs_skipped_total',
      help: 'Queue jobs that made no attempt, by reason (message_missing, already_finished, superseded)',
      labelNames: ['reason'],
      registers,
    }),
    jobsErrored: new Counter({
      name: 'vigil_delivery_jobs_errored_total',
      help: 'Queue jobs that threw (database or Redis unreachable); BullMQ retries them with backoff',
      registers,
    }),
    deferred: new Counter({
      name: 'vigil_delivery_deferred_total',
      help: 'Jobs put back without an attempt so they do not hold the worker, by reason (endpoint_paused, endpoint_unhealthy, endpoint_busy)',
      labelNames: ['reason'],
      registers,
    }),
    parked: new Counter({
      name: 'vigil_delivery_parked_total',
      help: 'Messages left pending in PostgreSQL without a queue job because their endpoint is busy or in trouble, by where (fanout, worker)',
      labelNames: ['origin'],
      registers,
    }),
    resumed: new Counter({
      name: 'vigil_delivery_resumed_total',
      help: 'Parked messages enqueued again because their endpoint had room or recovered',
      registers,
    }),
    endpointsDisabled: new Counter({
      name: 'vigil_delivery_endpoints_disabled_total',
      help: 'Endpoints disabled by delivery, by reason (endpoint_gone, failing)',
      labelNames: ['reason'],
      registers,
    }),
    recovered: new Counter({
      name: 'vigil_delivery_recovered_total',
      help: 'Pending messages the sweep enqueued again, by what it found (missing, failed or completed job; parked too long)',
      labelNames: ['found'],
      registers,
    }),
    inFlight: new Gauge({
      name: 'vigil_delivery_requests_in_flight',
      help: 'Webhook requests in flight in this process',
      registers,
    }),
  };
}

export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>;
