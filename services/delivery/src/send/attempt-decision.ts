import type { MessageFailureReason, MessageStatus } from '@vigil/db';
import type { AttemptOutcome, ErrorClass, RetrySchedule } from '@vigil/webhook-signing';
import type { EndpointSignal } from './endpoint-gate';

/**
 * What one attempt's outcome (classified by @vigil/webhook-signing) means for the message, the
 * endpoint's failure run and the endpoint gate:
 *
 * | outcome                | message                                          | endpoint            |
 * |------------------------|--------------------------------------------------|---------------------|
 * | 2xx                    | delivered                                        | success             |
 * | retry (3xx, 4xx, 5xx, 429, timeouts, network) | pending, next attempt after the schedule's delay (Retry-After a floor); failed `attempts_exhausted` after the last | failure |
 * | 410                    | failed `endpoint_gone`                           | gone: disabled now  |
 * | refused (SSRF, scheme, URL, headers) | failed `destination_refused`, no retry | failure             |
 *
 * For the gate, only answers that show the endpoint cannot take traffic — timeouts, connection
 * failures, 5xx, 429 — mark it in trouble; a prompt 4xx or redirect is the message's or the
 * configuration's problem and does not slow the endpoint's other messages.
 */
export interface AttemptDecision {
  messageStatus: MessageStatus;
  failureReason: MessageFailureReason | null;
  /** Delay before the next attempt, when the message stays pending. */
  nextDelayMs: number | null;
  endpointResult: 'success' | 'failure' | 'gone';
  signal: EndpointSignal;
}

const ENDPOINT_IN_TROUBLE: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'connect_timeout',
  'total_timeout',
  'dns_failure',
  'connection_refused',
  'connection_reset',
  'tls_error',
  'invalid_response',
  'network_error',
  'http_server_error',
  'http_unavailable',
  'http_rate_limited',
  'http_unexpected_status',
]);

export function decideAfterAttempt(outcome: AttemptOutcome, attemptNumber: number, schedule: RetrySchedule): AttemptDecision {
  switch (outcome.action) {
    case 'delivered':
      return { messageStatus: 'delivered', failureReason: null, nextDelayMs: null, endpointResult: 'success', signal: { kind: 'healthy' } };
    case 'disable_endpoint':
      return { messageStatus: 'failed', failureReason: 'endpoint_gone', nextDelayMs: null, endpointResult: 'gone', signal: { kind: 'neutral' } };
    case 'fail':
      return { messageStatus: 'failed', failureReason: 'destination_refused', nextDelayMs: null, endpointResult: 'failure', signal: { kind: 'neutral' } };
    case 'retry': {
      const retryAfterMs = outcome.retryAfterMs;
      const signal: EndpointSignal = ENDPOINT_IN_TROUBLE.has(outcome.errorClass)
        ? retryAfterMs === undefined
          ? { kind: 'unhealthy' }
          : { kind: 'unhealthy', retryAfterMs }
        : { kind: 'neutral' };
      const nextDelayMs = schedule.nextDelay(attemptNumber, retryAfterMs === undefined ? {} : { retryAfterMs });
      return nextDelayMs === null
        ? { messageStatus: 'failed', failureReason: 'attempts_exhausted', nextDelayMs: null, endpointResult: 'failure', signal }
        : { messageStatus: 'pending', failureReason: null, nextDelayMs, endpointResult: 'failure', signal };
    }
  }
}
