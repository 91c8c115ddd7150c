import type { ServerResponse } from 'node:http';
import { formatRateLimitHeader, type ProtocolError } from '@vigil/sentry-protocol';
import { CORS_RESPONSE_HEADERS } from './cors';

/**
 * How ingest answers. Success is `200 {"id": "<event_id>"}` (the endpoint's body); every refusal is
 * the protocol error's status with Relay's body (`detail`, `reason`, `causes`, `issues`) and its
 * detail in `X-Sentry-Error`; a 429 adds `Retry-After` and `X-Sentry-Rate-Limits`, a 503
 * `Retry-After`.
 */
const JSON_TYPE = 'application/json';

export function answerJson(res: ServerResponse, status: number, body: string, cors: boolean, extra?: Record<string, string>): void {
  const headers: Record<string, string | number> = { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body) };
  if (cors) Object.assign(headers, CORS_RESPONSE_HEADERS);
  if (extra !== undefined) Object.assign(headers, extra);
  res.writeHead(status, headers).end(body);
}

export interface ErrorAnswer {
  error: ProtocolError;
  cors: boolean;
  /** Seconds for `Retry-After` (429, 503). */
  retryAfterSeconds?: number;
}

export function answerError(res: ServerResponse, a: ErrorAnswer): void {
  const extra: Record<string, string> = { 'x-sentry-error': headerSafe(a.error.message) };
  if (a.retryAfterSeconds !== undefined) extra['retry-after'] = String(a.retryAfterSeconds);
  if (a.error.reason === 'key_rate_limit' && a.retryAfterSeconds !== undefined) {
    extra['x-sentry-rate-limits'] = formatRateLimitHeader([{ retryAfterSeconds: a.retryAfterSeconds, scope: 'key', reasonCode: 'key_quota' }]);
  }
  answerJson(res, a.error.status, JSON.stringify(a.error.toResponseBody()), a.cors, extra);
}

/** Header values must be printable Latin-1 on one line; details may quote client input. */
function headerSafe(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}
