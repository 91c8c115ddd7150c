import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '@vigil/logging';
import { ApiError } from '../http/error-catalog';
import type { RateDecision, SlidingWindowLimiter } from '../rate-limit/sliding-window';
import type { ApiMetrics } from '../api-metrics';
import { bearerToken, type TokenVerifier } from './token-verifier';

export interface AccessControlOptions {
  verifier: TokenVerifier;
  limiter: SlidingWindowLimiter;
  /** Requests per minute of a token without its own limit. */
  defaultLimit: number;
  /** Requests per minute of a client address without a valid token. */
  anonymousLimit: number;
  metrics: ApiMetrics;
  logger: Logger;
}

/**
 * Runs first on every API request, before the body is read: who is calling (bearer token, else the
 * client address), the rate limit of that caller (headers on every response, 429 when used up), then
 * 401 when the route needs a token and there is no valid one, and 403 when the token lacks the scope.
 */
export function accessControl(o: AccessControlOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const config = request.routeOptions.config;
    if (config.admin) return;
    const auth = config.auth ?? 'none';
    const presented = bearerToken(request.headers.authorization);
    const verification = presented === 'malformed' ? ({ ok: false, reason: 'malformed' } as const) : await o.verifier.verify(presented);
    request.principal = verification.ok ? verification.principal : null;

    let decision: RateDecision | null;
    if (request.principal) {
      const principal = request.principal;
      decision = await take(o, `token:${principal.tokenId}`, principal.rateLimitPerMinute ?? o.defaultLimit, principal.tokenId);
      if (decision?.revoked) {
        o.verifier.forget(principal.tokenId);
        request.principal = null;
        decision = await take(o, `ip:${request.ip}`, o.anonymousLimit);
        setHeaders(reply, decision);
        o.metrics.authFailures.inc({ reason: 'revoked' });
        throw unauthorized('revoked');
      }
    } else {
      decision = await take(o, `ip:${request.ip}`, o.anonymousLimit);
    }
    setHeaders(reply, decision);
    if (decision && !decision.allowed) {
      o.metrics.rateLimited.inc({ caller: request.principal ? 'token' : 'anonymous' });
      throw new ApiError('rate_limited', undefined, [], { 'retry-after': String(decision.retryAfter) });
    }

    if (auth === 'none') return;
    if (!verification.ok) {
      o.metrics.authFailures.inc({ reason: verification.reason });
      throw unauthorized(verification.reason);
    }
    if (auth !== 'token' && !verification.principal.scopes.has(auth.scope)) {
      o.metrics.authFailures.inc({ reason: 'missing_scope' });
      throw new ApiError('forbidden', `This token lacks the scope "${auth.scope}".`, [{ field: 'scope', message: `requires ${auth.scope}` }]);
    }
  };
}

const REFUSALS = {
  missing: 'No API token: send Authorization: Bearer vgl_….',
  malformed: 'The Authorization header does not hold a well-formed API token (Bearer vgl_…).',
  unknown: 'The API token is not valid.',
  revoked: 'The API token was revoked.',
  expired: 'The API token has expired.',
} as const;

function unauthorized(reason: keyof typeof REFUSALS): ApiError {
  return new ApiError('unauthorized', REFUSALS[reason], [], { 'www-authenticate': 'Bearer realm="vigil"' });
}

/** Redis being down must not take the API down: requests pass uncounted, and the failure is counted. */
async function take(o: AccessControlOptions, subject: string, limit: number, tokenId?: string): Promise<RateDecision | null> {
  try {
    return await o.limiter.take(subject, limit, tokenId);
  } catch (err) {
    o.metrics.rateLimitErrors.inc();
    o.logger.warn({ err }, 'rate limit unavailable; request let through uncounted');
    return null;
  }
}

function setHeaders(reply: FastifyReply, decision: RateDecision | null): void {
  if (!decision) return;
  reply.header('x-ratelimit-limit', decision.limit);
  reply.header('x-ratelimit-remaining', decision.remaining);
  reply.header('x-ratelimit-reset', decision.resetAt);
}
