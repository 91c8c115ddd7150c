import { Counter, Gauge, Histogram, type Registry } from '@vigil/service-runtime';
import { REASONS, type DataCategory, type Outcome, type ReasonCode } from '@vigil/sentry-protocol';

/**
 * Ingest's metrics, all in one place. The central one is Relay's outcome counter: every item a
 * client sends ends in exactly one `(outcome, reason, category)`, `accepted` with an empty reason.
 * Label children are cached, because looking one up by a label object costs more than the
 * increment on the hot path.
 */
export class IngestMetrics {
  private readonly outcomes: Counter<'outcome' | 'reason' | 'category'>;
  private readonly requests: Counter<'endpoint' | 'status'>;
  private readonly duration: Histogram<'endpoint'>;
  private readonly itemTypes: Counter<'type'>;
  readonly keyLookups: Counter<'result'>;
  readonly rateLimiterErrors: Counter;
  readonly eventLogFailures: Counter<'cause'>;
  readonly eventLogState: Gauge;
  readonly spooled: Counter;
  readonly spoolDelivered: Counter;
  private readonly children = new Map<string, { inc(n?: number): void }>();
  private readonly timers = new Map<string, { observe(v: number): void }>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.outcomes = new Counter({
      name: 'vigil_ingest_outcomes_total',
      help: 'Items received, by outcome (accepted, invalid, rate_limited, filtered, client_discard), reason and data category',
      labelNames: ['outcome', 'reason', 'category'],
      registers,
    });
    this.requests = new Counter({
      name: 'vigil_ingest_requests_total',
      help: 'HTTP requests answered, by endpoint and status',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.duration = new Histogram({
      name: 'vigil_ingest_request_duration_seconds',
      help: 'Time from request to answer, including the wait for Kafka',
      labelNames: ['endpoint'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.itemTypes = new Counter({
      name: 'vigil_ingest_envelope_items_total',
      help: 'Envelope items received, by item type (types Sentry does not define count as "unknown")',
      labelNames: ['type'],
      registers,
    });
    this.keyLookups = new Counter({
      name: 'vigil_ingest_key_lookups_total',
      help: 'DSN key look-ups: hit (cached), miss (asked PostgreSQL), error (PostgreSQL failed)',
      labelNames: ['result'],
      registers,
    });
    this.rateLimiterErrors = new Counter({
      name: 'vigil_ingest_rate_limiter_errors_total',
      help: 'Failed synchronisations of rate-limit counters with Redis (limits then hold per instance)',
      registers,
    });
    this.eventLogFailures = new Counter({
      name: 'vigil_ingest_event_log_failures_total',
      help: 'Writes to Kafka that failed (error), timed out (timeout), were refused while Kafka was failing (unavailable) or the backlog was full (backlog); spool writes refused (spool_full) or failing (spool_error)',
      labelNames: ['cause'],
      registers,
    });
    this.eventLogState = new Gauge({
      name: 'vigil_ingest_event_log_available',
      help: '1 while Kafka acknowledges writes, 0 while writes fail (requests are answered 503)',
      registers,
    });
    this.eventLogState.set(1);
    this.spooled = new Counter({
      name: 'vigil_ingest_spooled_events_total',
      help: 'Events written to the on-disk spool (and answered 200) while Kafka could not take them',
      registers,
    });
    this.spoolDelivered = new Counter({
      name: 'vigil_ingest_spool_delivered_events_total',
      help: 'Events delivered from the spool to Kafka',
      registers,
    });
  }

  /** Gauges read when scraped, so the hot path does not update them per request. */
  observe(o: { pendingBytes: () => number; spoolBytes: () => number; inFlight: () => number }, registry: Registry): void {
    new Gauge({
      name: 'vigil_ingest_spool_bytes',
      help: 'Bytes in the on-disk spool waiting for Kafka',
      registers: [registry],
      collect() {
        this.set(o.spoolBytes());
      },
    });
    new Gauge({
      name: 'vigil_ingest_event_log_pending_bytes',
      help: 'Bytes written to the producer and not yet acknowledged by Kafka',
      registers: [registry],
      collect() {
        this.set(o.pendingBytes());
      },
    });
    new Gauge({
      name: 'vigil_ingest_requests_in_flight',
      help: 'Requests being handled',
      registers: [registry],
      collect() {
        this.set(o.inFlight());
      },
    });
  }

  accepted(category: DataCategory, quantity = 1): void {
    this.child('accepted', '', category).inc(quantity);
  }

  rejected(reason: ReasonCode, category: DataCategory, quantity = 1): void {
    this.child(REASONS[reason].outcome, reason, category).inc(quantity);
  }

  /** What SDKs report they dropped themselves (client reports), with their own reason. */
  clientDiscard(reason: string, category: DataCategory, quantity: number): void {
    this.child('client_discard', reason, category).inc(quantity);
  }

  itemType(type: string): void {
    this.cached(`t:${type}`, () => this.itemTypes.labels(type)).inc();
  }

  request(endpoint: string, status: number, seconds: number): void {
    this.cached(`r:${endpoint}:${status}`, () => this.requests.labels(endpoint, String(status))).inc();
    let timer = this.timers.get(endpoint);
    if (timer === undefined) {
      timer = this.duration.labels(endpoint);
      this.timers.set(endpoint, timer);
    }
    timer.observe(seconds);
  }

  private child(outcome: Outcome, reason: string, category: DataCategory): { inc(n?: number): void } {
    return this.cached(`o:${outcome}:${reason}:${category}`, () => this.outcomes.labels(outcome, reason, category));
  }

  private cached(key: string, make: () => { inc(n?: number): void }): { inc(n?: number): void } {
    let child = this.children.get(key);
    if (child === undefined) {
      child = make();
      this.children.set(key, child);
    }
    return child;
  }
}
