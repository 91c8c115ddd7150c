/**
 * Every error the API answers with: a stable code, its HTTP status and the default message. The
 * handlers, the OpenAPI document and docs/api.md all read this one table (a test checks that the docs
 * list every code).
 */
export const ERROR_CATALOG = {
  validation_error: {
    status: 400,
    message: 'The request is not valid; `details` names each field at fault.',
    when: 'A path, query or body field is missing, malformed or out of range; an unknown query parameter; a body that is not JSON; a cursor that is not one this endpoint issued.',
  },
  unauthorized: {
    status: 401,
    message: 'A valid API token is required.',
    when: 'No `Authorization: Bearer vgl_…` header, or the token is malformed, unknown, expired or revoked.',
  },
  forbidden: {
    status: 403,
    message: 'The token lacks the scope this request needs.',
    when: 'The token is valid but lacks the endpoint\'s scope, or asks to create a token with scopes it does not hold itself.',
  },
  not_found: {
    status: 404,
    message: 'No such resource.',
    when: 'An unknown route, or a resource that does not exist in the token\'s organization (resources of other organizations are never revealed).',
  },
  method_not_allowed: {
    status: 405,
    message: 'This path does not support this method; the Allow header lists the ones it does.',
    when: 'A method the path does not declare (e.g. PUT on a list); the `Allow` header names the methods it supports.',
  },
  conflict: {
    status: 409,
    message: 'The request conflicts with the current state of the resource.',
    when: 'A name or slug already taken, an exporter already registered, a state change that is not possible any more.',
  },
  payload_too_large: {
    status: 413,
    message: 'The request body is larger than this API accepts.',
    when: 'The body exceeds `VIGIL_API_BODY_LIMIT` (1 MiB by default).',
  },
  unsupported_media_type: {
    status: 415,
    message: 'Request bodies must be JSON (Content-Type: application/json).',
    when: 'A body with another content type.',
  },
  rate_limited: {
    status: 429,
    message: 'Too many requests; retry after the number of seconds in Retry-After.',
    when: 'The token (or, without a token, the client address) used up its requests of the sliding one-minute window.',
  },
  internal_error: {
    status: 500,
    message: 'Something went wrong on our side; the request id identifies it in the logs.',
    when: 'An unexpected failure. Report the `request_id`.',
  },
  service_unavailable: {
    status: 503,
    message: 'A dependency is unavailable or the query took too long; retry later.',
    when: 'PostgreSQL is unreachable or a query exceeded `VIGIL_API_STATEMENT_TIMEOUT`.',
  },
} as const satisfies Record<string, { status: number; message: string; when: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

export interface ErrorDetail {
  field: string;
  message: string;
}

/** An error a handler throws to answer with a catalogued code. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string = ERROR_CATALOG[code].message,
    readonly details: ErrorDetail[] = [],
    /** Extra response headers (Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_CATALOG[code].status;
  }
}

export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);
export const conflict = (message: string) => new ApiError('conflict', message);
export const invalid = (field: string, message: string) => new ApiError('validation_error', ERROR_CATALOG.validation_error.message, [{ field, message }]);
