/**
 * The catalog of error classes recorded for a delivery attempt. Each attempt that is not a success
 * carries exactly one of these stable strings in the attempt log; the delivery service counts
 * failures by them and docs/webhooks.md lists every one (a test keeps the two in step).
 */
export const ERROR_CLASSES = {
  http_redirect: 'The endpoint answered 3xx. Redirects are never followed; the attempt failed.',
  http_gone: 'The endpoint answered 410 Gone. The endpoint is disabled.',
  http_rate_limited: 'The endpoint answered 429. Retried no sooner than its Retry-After (bounded).',
  http_unavailable: 'The endpoint answered 502, 503 or 504. Retried no sooner than its Retry-After (bounded).',
  http_client_error: 'The endpoint answered another 4xx status. Retried on the schedule.',
  http_server_error: 'The endpoint answered another 5xx status. Retried on the schedule.',
  http_unexpected_status: 'The endpoint answered a status outside 200–599. Retried on the schedule.',
  connect_timeout: 'Name resolution, TCP connect and TLS handshake did not finish within the connect timeout.',
  total_timeout: 'No response headers within the total timeout.',
  dns_failure: 'The host name did not resolve.',
  connection_refused: 'The connection was refused.',
  connection_reset: 'The connection was reset or closed before a response arrived.',
  tls_error: 'The TLS handshake failed (certificate or protocol).',
  invalid_response: 'The response was not valid HTTP.',
  network_error: 'Another network-level error.',
  ssrf_refused: 'The destination address is not allowed (private, loopback, link-local, metadata…) and is not allow-listed.',
  unsupported_scheme: 'The URL scheme is not http or https.',
  invalid_url: 'The URL could not be parsed.',
  invalid_request: 'The request could not be built (for example an invalid custom header).',
} as const;

export type ErrorClass = keyof typeof ERROR_CLASSES;

export function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === 'string' && Object.hasOwn(ERROR_CLASSES, value);
}
