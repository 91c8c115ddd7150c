import { DelayedError, type Job } from 'bullmq';
import type { AttemptRecord, DeliverableMessage } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import {
  buildWebhookHeaders,
  postWebhook,
  type AddressPolicy,
  type RetryAfterBounds,
  type RetrySchedule,
  type WebhookAgents,
  type WebhookAttempt,
} from '@vigil/webhook-signing';
import type { DeliveryMetrics } from '../delivery-metrics';
import type { DeliveryJobData } from '../queue/delivery-queue';
import { decideAfterAttempt, type AttemptDecision } from './attempt-decision';
import type { EndpointGate, EndpointSignal } from './endpoint-gate';

export interface DeliverJobOptions {
  gate: EndpointGate;
  /** Batched read of the message, its body and its endpoint. */
  load(id: string): Promise<DeliverableMessage | null>;
  /**
   * Batched write of the attempt log row and the message's and endpoint's new state; resolves to the
   * attempt's number, or undefined when the message no longer exists.
   */
  record(attempt: AttemptRecord): Promise<number | undefined>;
  /** Fails messages whose endpoint was disabled before their turn. */
  failDisabled(id: string): Promise<void>;
  /** Marks a message as parked in PostgreSQL (its job is about to end without an attempt). */
  park(id: string): Promise<void>;
  policy: AddressPolicy;
  agents: WebhookAgents;
  schedule: RetrySchedule;
  timeouts: { connectMs: number; totalMs: number };
  retryAfter: RetryAfterBounds;
  userAgent: string;
  metrics: DeliveryMetrics;
  logger: Logger;
}

const MAX_LOGGED_BODY_BYTES = 4096;

/**
 * The processor of one queue job: gate on the endpoint, read the message, sign, POST, record the
 * attempt, and either finish the job (delivered or failed) or move it to the delayed set for its
 * next attempt. Every attempt is written to PostgreSQL before the job moves on, and the job moves
 * on only after that, so a crash at any point repeats at most the request in flight — which the
 * receiver recognises by its `webhook-id`.
 */
export function createDeliverJob(o: DeliverJobOptions) {
  return async (job: Job<DeliveryJobData>, token?: string): Promise<string> => {
    const { m: id, w: endpointId } = job.data;
    // The read starts while the gate decides, so that a slot of the endpoint is held for the request
    // alone; not for endpoints in trouble or paused, whose jobs mostly leave without an attempt.
    const early = o.gate.accepting(endpointId) ? readNow(o, id) : null;
    const admission = await o.gate.admit(endpointId, Date.now() - job.timestamp);
    if (!admission.admitted) {
      if (admission.park) {
        // The job ends; the message stays pending in PostgreSQL until the endpoint has room again.
        await o.park(id);
        o.gate.noteParked(endpointId, 1);
        o.metrics.parked.inc({ origin: 'worker' });
        return 'parked';
      }
      o.metrics.deferred.inc({ reason: admission.reason });
      await job.moveToDelayed(Date.now() + admission.deferMs, token);
      throw new DelayedError();
    }

    let signal: EndpointSignal = { kind: 'neutral' };
    let sent: { message: DeliverableMessage; attempt: WebhookAttempt; startedAt: Date; decision: AttemptDecision } | string;
    o.metrics.inFlight.inc();
    try {
      sent = await attemptOnce(o, job, id, early);
      if (typeof sent !== 'string') signal = sent.decision.signal;
    } finally {
      admission.release(signal);
      o.metrics.inFlight.dec();
    }
    if (typeof sent === 'string') return sent;

    const { message, attempt, startedAt, decision } = sent;
    const nextAttemptAt = decision.nextDelayMs === null ? null : new Date(Date.now() + decision.nextDelayMs);
    const attemptNumber = await o.record({
      messageId: message.id,
      webhookId: message.webhook_id,
      trigger: job.data.manual ? 'manual' : 'scheduled',
      startedAt,
      durationMs: attempt.durationMs,
      url: message.url,
      statusCode: attempt.status,
      errorClass: attempt.outcome.errorClass,
      error: attempt.error,
      responseHeaders: attempt.headers,
      responseBody: boundedBody(attempt.body),
      responseBodyTruncated: attempt.bodyTruncated || Buffer.byteLength(attempt.body) > MAX_LOGGED_BODY_BYTES,
      remoteAddress: attempt.remoteAddress,
      messageStatus: decision.messageStatus,
      failureReason: decision.failureReason,
      nextAttemptAt,
      endpointResult: decision.endpointResult,
    });
    o.metrics.attempts.inc({ action: attempt.outcome.action, error_class: attempt.outcome.errorClass ?? 'none' });
    o.metrics.attemptSeconds.observe({ result: attempt.outcome.action }, attempt.durationMs / 1000);
    if (attemptNumber === undefined) {
      // The message (or its endpoint) was deleted while the request was in flight.
      o.metrics.jobsSkipped.inc({ reason: 'message_missing' });
      return 'message_missing';
    }
    if (decision.messageStatus === 'pending' && nextAttemptAt) {
      if (job.data.manual) await job.updateData({ m: id, w: endpointId });
      await job.moveToDelayed(nextAttemptAt.getTime(), token);
      throw new DelayedError();
    }
    o.metrics.messagesFinished.inc({ status: decision.messageStatus, reason: decision.failureReason ?? 'none' });
    if (decision.messageStatus === 'failed') {
      o.logger.info({ message_id: id, webhook_id: endpointId, attempt: attemptNumber, reason: decision.failureReason, error_class: attempt.outcome.errorClass }, 'webhook message failed');
    }
    if (decision.messageStatus === 'delivered' && attemptNumber === 1) {
      o.metrics.endToEndSeconds.observe((Date.now() - message.created_at.getTime()) / 1000);
    }
    return decision.messageStatus;
  };
}

/**
 * A read older than this when the request would start (the job waited for a slot of its endpoint)
 * is made again, so a changed URL, secret or status applies to every attempt that starts later.
 */
export const FRESH_READ_MS = 100;

interface Read {
  message: DeliverableMessage | null;
  /** Date.now() when the read came back. */
  at: number;
}

function readNow(o: DeliverJobOptions, id: string): Promise<Read> {
  const read = o.load(id).then((message) => ({ message, at: Date.now() }));
  // A job the gate turns away never looks at its read; a failed one is read again if it is admitted.
  read.catch(() => undefined);
  return read;
}

/** Reads the message (unless read just now) and makes the request; a string when no attempt is due (and why). */
async function attemptOnce(o: DeliverJobOptions, job: Job<DeliveryJobData>, id: string, early: Promise<Read> | null) {
  const read = early ? await early.catch(() => null) : null;
  const message = read && Date.now() - read.at <= FRESH_READ_MS ? read.message : await o.load(id);
  if (!message) return skip(o, 'message_missing');
  if (message.status !== 'pending') return skip(o, 'already_finished');
  // A job left over from before a redelivery (the message now travels under a new job id).
  if (message.job_id !== job.id) return skip(o, 'superseded');
  if (message.webhook_status !== 'enabled') {
    await o.failDisabled(message.id);
    o.metrics.messagesFinished.inc({ status: 'failed', reason: 'endpoint_disabled' });
    return 'endpoint_disabled';
  }
  const startedAt = new Date();
  let attempt: WebhookAttempt;
  try {
    const headers = buildWebhookHeaders({
      id: message.id,
      body: message.payload,
      secrets: message.secrets,
      userAgent: o.userAgent,
      customHeaders: message.headers,
      signedAt: startedAt,
    });
    attempt = await postWebhook({
      url: message.url,
      headers,
      body: message.payload,
      policy: o.policy,
      agents: o.agents,
      timeouts: o.timeouts,
      retryAfter: o.retryAfter,
    });
  } catch (err) {
    // Only a request that cannot be built gets here (the table keeps secrets well-formed).
    attempt = {
      status: null,
      headers: {},
      body: '',
      bodyTruncated: false,
      durationMs: Date.now() - startedAt.getTime(),
      remoteAddress: null,
      outcome: { action: 'fail', errorClass: 'invalid_request' },
      error: (err as Error).message,
    };
  }
  return { message, attempt, startedAt, decision: decideAfterAttempt(attempt.outcome, message.attempts + 1, o.schedule) };
}

function skip(o: DeliverJobOptions, reason: 'message_missing' | 'already_finished' | 'superseded'): string {
  o.metrics.jobsSkipped.inc({ reason });
  return reason;
}

/** At most 4 KiB of UTF-8 and no NUL characters (PostgreSQL text cannot hold them). */
export function boundedBody(text: string): string {
  let body = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
  if (Buffer.byteLength(body) <= MAX_LOGGED_BODY_BYTES) return body;
  body = Buffer.from(body).subarray(0, MAX_LOGGED_BODY_BYTES).toString('utf8');
  while (Buffer.byteLength(body) > MAX_LOGGED_BODY_BYTES) body = body.slice(0, -1);
  return body;
}
