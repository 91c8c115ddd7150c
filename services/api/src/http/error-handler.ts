import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '@vigil/logging';
import { ApiError, ERROR_CATALOG, type ErrorCode } from './error-catalog';
import { errorBody } from './envelope';

declare module 'fastify' {
  interface FastifyRequest {
    /** The catalog code the request was refused with, for metrics and the access log. */
    errorCode: ErrorCode | null;
  }
}

// PostgreSQL SQLSTATEs (and socket errors) that mean "the database is not answering", not a bug.
const UNAVAILABLE_SQLSTATES = new Set(['57014', '57P01', '57P02', '57P03', '53300', '53400', '08000', '08001', '08003', '08004', '08006']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** Maps whatever was thrown to a catalogued error. */
export function classify(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as Partial<FastifyError> & { code?: string; message?: string };
  if (typeof e.code === 'string' && e.code.startsWith('FST_')) {
    switch (e.statusCode) {
      case 413:
        return new ApiError('payload_too_large');
      case 415:
        return new ApiError('unsupported_media_type');
      case 404:
        return new ApiError('not_found');
      default:
        if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
          return new ApiError('validation_error', undefined, [{ field: 'body', message: fastifyMessage(e) }]);
        }
    }
  }
  // A body Node's JSON parser refused arrives as a SyntaxError with status 400.
  if (err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400) {
    return new ApiError('validation_error', undefined, [{ field: 'body', message: 'not valid JSON' }]);
  }
  if ((e.code && (UNAVAILABLE_SQLSTATES.has(e.code) || UNAVAILABLE_ERRNOS.has(e.code))) || /Connection terminated|timeout exceeded when trying to connect/i.test(e.message ?? '')) {
    return new ApiError('service_unavailable', undefined, [], { 'retry-after': '5' });
  }
  return new ApiError('internal_error');
}

function fastifyMessage(e: Partial<FastifyError>): string {
  switch (e.code) {
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'empty body with Content-Type application/json';
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'not valid JSON';
    default:
      return (e.message ?? 'malformed request').replace(/^FST_\w+:\s*/, '');
  }
}

export function errorHandler(logger: Logger) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = classify(err);
    request.errorCode = apiError.code;
    if (apiError.status >= 500) {
      logger.error({ err, request_id: request.id, method: request.method, url: request.url }, ERROR_CATALOG[apiError.code].message);
    }
    for (const [name, value] of Object.entries(apiError.headers)) reply.header(name, value);
    return reply
      .code(apiError.status)
      .type('application/json; charset=utf-8')
      .send(errorBody(request.id, apiError.code, apiError.message, apiError.details));
  };
}

/**
 * Errors Fastify's router raises before a route runs (a path parameter over its length limit, a URL
 * that cannot be decoded): answered with the same envelope, as a validation error of the path.
 */
export function frameworkErrorHandler(logger: Logger) {
  const handle = errorHandler(logger);
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
    // No hook has run for such a request: the request id header is set here.
    handle(
      err.code === 'FST_ERR_MAX_PARAM_LENGTH' || err.code === 'FST_ERR_BAD_URL'
        ? new ApiError('validation_error', undefined, [
            { field: 'path', message: err.code === 'FST_ERR_BAD_URL' ? 'the path cannot be decoded' : 'a path parameter is too long' },
          ])
        : err,
      request,
      reply.header('x-request-id', request.id),
    );
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  request.errorCode = 'not_found';
  return reply
    .code(404)
    .type('application/json; charset=utf-8')
    .send(errorBody(request.id, 'not_found', `No route ${request.method} ${request.url.split('?')[0]}.`, []));
}
