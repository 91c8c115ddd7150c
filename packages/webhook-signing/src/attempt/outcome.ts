import type { ErrorClass } from './error-class';
import { isErrorClass } from './error-class';
import { parseDuration, type Duration } from '../schedule/duration';

/**
 * What one HTTP attempt means for the message and the endpoint. Every attempt maps to exactly one
 * action and, unless it succeeded, one error class from the catalog, so nothing fails uncounted.
 *
 * - `delivered`: 2xx. Done.
 * - `retry`: try again on the schedule; `retryAfterMs` (429/502/503/504 only) is a floor.
 * - `disable_endpoint`: 410 Gone. The receiver asked us to stop; no retry, endpoint disabled.
 * - `fail`: retrying cannot help (the URL is refused by policy or cannot be used). The message is
 *   failed now; it still counts towards the endpoint's failure period.
 */
export type OutcomeAction = 'delivered' | 'retry' | 'disable_endpoint' | 'fail';

export type AttemptOutcome =
  | { action: 'delivered'; errorClass: null }
  | { action: 'retry'; errorClass: ErrorClass; retryAfterMs?: number }
  | { action: 'disable_endpoint' | 'fail'; errorClass: ErrorClass };

export interface RetryAfterBounds {
  /** Floor for an honoured Retry-After. Default 1 s. */
  min?: Duration;
  /** Ceiling for an honoured Retry-After, so one header cannot park a message for days. Default 1 h. */
  max?: Duration;
}

export const DEFAULT_RETRY_AFTER_MIN_MS = 1000;
export const DEFAULT_RETRY_AFTER_MAX_MS = 3_600_000;

export interface ClassifyResponseOptions {
  status: number;
  /** Response headers (lower-case names, as node:http gives them). */
  headers?: Readonly<Record<string, string | readonly string[] | undefined>>;
  retryAfter?: RetryAfterBounds;
  /** Current time in ms, for Retry-After given as an HTTP date. */
  now?: number;
}

const HONOURS_RETRY_AFTER: ReadonlyMap<number, ErrorClass> = new Map([
  [429, 'http_rate_limited'],
  [502, 'http_unavailable'],
  [503, 'http_unavailable'],
  [504, 'http_unavailable'],
]);

export function classifyResponse(options: ClassifyResponseOptions): AttemptOutcome {
  const { status } = options;
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    return { action: 'retry', errorClass: 'http_unexpected_status' };
  }
  if (status < 300) return { action: 'delivered', errorClass: null };
  if (status < 400) return { action: 'retry', errorClass: 'http_redirect' };
  if (status === 410) return { action: 'disable_endpoint', errorClass: 'http_gone' };
  const throttled = HONOURS_RETRY_AFTER.get(status);
  if (throttled) {
    const raw = options.headers?.['retry-after'];
    const value = typeof raw === 'string' ? raw : raw?.[0];
    const retryAfterMs =
      value === undefined ? null : parseRetryAfter(value, options.now ?? Date.now(), options.retryAfter);
    return retryAfterMs === null
      ? { action: 'retry', errorClass: throttled }
      : { action: 'retry', errorClass: throttled, retryAfterMs };
  }
  return { action: 'retry', errorClass: status < 500 ? 'http_client_error' : 'http_server_error' };
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) into milliseconds from
 * `now`, clamped to the bounds. Returns null when the value is neither form, in which case the
 * regular schedule applies.
 */
export function parseRetryAfter(value: string, now: number, bounds: RetryAfterBounds = {}): number | null {
  const min = bounds.min === undefined ? DEFAULT_RETRY_AFTER_MIN_MS : parseDuration(bounds.min);
  const max = bounds.max === undefined ? DEFAULT_RETRY_AFTER_MAX_MS : parseDuration(bounds.max);
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    const at = parseHttpDate(text);
    if (Number.isNaN(at)) return null;
    ms = at - now;
  }
  return Math.min(Math.max(ms, min), max);
}

// The three HTTP-date forms (RFC 9110 §5.6.7), all in GMT; anything else is not a date here,
// whatever Date.parse would make of it.
const IMF_FIXDATE = /^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC850_DATE = /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

function parseHttpDate(text: string): number {
  if (IMF_FIXDATE.test(text) || RFC850_DATE.test(text)) return Date.parse(text);
  if (ASCTIME_DATE.test(text)) return Date.parse(`${text} GMT`);
  return Number.NaN;
}

/** Error codes that node:net, node:dns and node:tls use, grouped by the class recorded. */
const NETWORK_CODES: ReadonlyMap<string, ErrorClass> = new Map([
  ['ENOTFOUND', 'dns_failure'],
  ['EAI_AGAIN', 'dns_failure'],
  ['EAI_FAIL', 'dns_failure'],
  ['EAI_NODATA', 'dns_failure'],
  ['EAI_NONAME', 'dns_failure'],
  ['ECONNREFUSED', 'connection_refused'],
  ['ECONNRESET', 'connection_reset'],
  ['EPIPE', 'connection_reset'],
  ['ECONNABORTED', 'connection_reset'],
  ['ERR_STREAM_PREMATURE_CLOSE', 'connection_reset'],
  ['ETIMEDOUT', 'connect_timeout'],
  ['EPROTO', 'tls_error'], // OpenSSL record errors, e.g. https:// to a plain HTTP port
  ['ERR_INVALID_URL', 'invalid_url'],
  ['ERR_INVALID_HTTP_TOKEN', 'invalid_request'],
  ['ERR_INVALID_CHAR', 'invalid_request'],
  ['ERR_HTTP_INVALID_HEADER_VALUE', 'invalid_request'],
  ['ERR_UNESCAPED_CHARACTERS', 'invalid_request'],
]);

/** Policy errors: the same request will be refused again, so the message fails without retry. */
const FINAL: ReadonlySet<ErrorClass> = new Set(['ssrf_refused', 'unsupported_scheme', 'invalid_url', 'invalid_request']);

/**
 * Classifies an attempt that produced no HTTP status: a timeout, a refusal by the address policy
 * or a network error. Errors that carry an `errorClass` from the catalog (the ones this package
 * raises) keep it.
 */
export function classifyError(error: unknown): AttemptOutcome {
  const errorClass = errorClassOf(error);
  return FINAL.has(errorClass) ? { action: 'fail', errorClass } : { action: 'retry', errorClass };
}

function errorClassOf(error: unknown): ErrorClass {
  if (typeof error !== 'object' || error === null) return 'network_error';
  const own = (error as { errorClass?: unknown }).errorClass;
  if (isErrorClass(own)) return own;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    const known = NETWORK_CODES.get(code);
    if (known) return known;
    if (code.startsWith('HPE_')) return 'invalid_response';
    if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_OSSL_)/.test(code)) return 'tls_error';
  }
  if ((error as { message?: unknown }).message === 'socket hang up') return 'connection_reset';
  return 'network_error';
}
