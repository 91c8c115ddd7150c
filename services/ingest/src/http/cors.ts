import type { ServerResponse } from 'node:http';

/**
 * CORS for browser SDKs, as Relay answers: any origin may POST events (a DSN is public by design:
 * it is embedded in every web page that reports errors), with the Sentry headers, and may read
 * the headers that tell an SDK to back off.
 */
export const CORS_RESPONSE_HEADERS: Readonly<Record<string, string>> = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'x-sentry-error, x-sentry-rate-limits, retry-after',
};

const PREFLIGHT_HEADERS: Readonly<Record<string, string>> = {
  ...CORS_RESPONSE_HEADERS,
  'access-control-allow-methods': 'POST, OPTIONS',
  'access-control-allow-headers': [
    'x-sentry-auth',
    'x-requested-with',
    'x-forwarded-for',
    'origin',
    'referer',
    'accept',
    'content-type',
    'content-encoding',
    'authentication',
    'authorization',
    'sentry-trace',
    'baggage',
  ].join(', '),
  'access-control-max-age': '3600',
  'content-length': '0',
};

/** Answers an `OPTIONS` preflight. */
export function answerPreflight(res: ServerResponse): void {
  res.writeHead(200, PREFLIGHT_HEADERS).end();
}
