import { Counter, Histogram, type Registry } from '@vigil/service-runtime';

/**
 * The API's metrics, all in one place (besides Node's process metrics from the shared registry):
 *
 * - `vigil_api_requests_total{method,route,status,code}`: every response; `code` is the error code of
 *   the catalog for refused requests (`validation_error`, `unauthorized`, …) and `ok` otherwise.
 * - `vigil_api_request_duration_seconds{method,route}`: time to the last byte of the response.
 * - `vigil_api_auth_failures_total{reason}`: missing, malformed, unknown, revoked, expired, missing_scope.
 * - `vigil_api_rate_limited_total{caller}`: 429s, for tokens and for anonymous client addresses.
 * - `vigil_api_rate_limit_errors_total`: requests let through uncounted because Redis failed.
 * - `vigil_api_token_cache_total{result}`: token look-ups served from memory (hit) or the database (miss).
 * - `vigil_api_export_rows_total{resource}`: rows streamed by NDJSON exports.
 * - `vigil_api_rollup_cache_total{result}`: top-talker and protocol answers served from the short-lived cache (hit) or queried (miss).
 * - `vigil_api_shared_reads_total{result}`: list pages that ran their own query (led) or were answered by an identical one already running (joined).
 */
export function createApiMetrics(registry: Registry) {
  const registers = [registry];
  return {
    requests: new Counter({ name: 'vigil_api_requests_total', help: 'API responses', labelNames: ['method', 'route', 'status', 'code'], registers }),
    duration: new Histogram({
      name: 'vigil_api_request_duration_seconds',
      help: 'API request duration',
      labelNames: ['method', 'route'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    authFailures: new Counter({ name: 'vigil_api_auth_failures_total', help: 'Requests refused by authentication or scope', labelNames: ['reason'], registers }),
    rateLimited: new Counter({ name: 'vigil_api_rate_limited_total', help: 'Requests refused by the rate limit', labelNames: ['caller'], registers }),
    rateLimitErrors: new Counter({ name: 'vigil_api_rate_limit_errors_total', help: 'Requests let through because the rate limit store failed', registers }),
    tokenCache: new Counter({ name: 'vigil_api_token_cache_total', help: 'Token look-ups by cache result', labelNames: ['result'], registers }),
    rollupCache: new Counter({ name: 'vigil_api_rollup_cache_total', help: 'Rollup answers by cache result', labelNames: ['result'], registers }),
    sharedReads: new Counter({ name: 'vigil_api_shared_reads_total', help: 'List reads that ran their query (led) or shared one already running (joined)', labelNames: ['result'], registers }),
    exportRows: new Counter({ name: 'vigil_api_export_rows_total', help: 'Rows streamed by exports', labelNames: ['resource'], registers }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
