import { createApiToken, getApiToken, listApiTokens, revokeApiToken } from '@vigil/db';
import { z } from 'zod';
import type { ApiServices } from '../../api-app';
import { ApiError, notFound } from '../../http/error-catalog';
import { pageOffset, pagePagination, pageQuery } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { createTokenBody, createdTokenSchema, tokenSchema, toToken } from './token-schemas';

const tokenParams = z.object({ token_id: z.uuid() });

/**
 * API tokens of the organization. Listing needs `org:read`; creating and revoking need
 * `project:admin`, and a token can only hand out scopes it holds itself, so no token can mint a more
 * powerful one. A revocation takes effect on every API instance at once.
 */
export function tokenRoutes(s: ApiServices): AnyRoute[] {
  const revoke = async (organizationId: number, id: string) => {
    await revokeApiToken(s.pool, organizationId, id);
    const token = await getApiToken(s.pool, organizationId, id);
    if (!token) throw notFound('token');
    // Other instances see the marker on the token's next request; this one forgets it now.
    s.verifier.forget(token.id);
    await s.limiter
      .markRevoked(token.id, s.tokenCacheTtlMs * 2 + 5_000)
      .catch((err: unknown) => s.logger.warn({ err, token_id: token.id }, 'revocation marker not written; other instances notice within the token cache TTL'));
    return token;
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/tokens',
      operationId: 'listTokens',
      summary: 'List API tokens (without their secrets)',
      tag: 'tokens',
      auth: { scope: 'org:read' },
      query: z.strictObject({ ...pageQuery }),
      response: { kind: 'page', data: tokenSchema },
      handler: async ({ principal, query }) => {
        const { items, total } = await listApiTokens(s.pool, principal.organizationId, pageOffset(query));
        return { items: items.map((t) => toToken(t)), pagination: pagePagination(query, total) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/tokens/current',
      operationId: 'getCurrentToken',
      summary: 'The token making this request',
      tag: 'tokens',
      auth: 'token',
      response: { kind: 'item', data: tokenSchema },
      handler: async ({ principal }) => {
        const token = await getApiToken(s.pool, principal.organizationId, principal.tokenId);
        if (!token) throw new ApiError('unauthorized');
        return toToken(token);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/tokens/current',
      operationId: 'revokeCurrentToken',
      summary: 'Revoke the token making this request',
      description: 'Any token can revoke itself (a token that may have leaked can be disabled by whoever holds it).',
      tag: 'tokens',
      auth: 'token',
      response: { kind: 'item', data: tokenSchema },
      handler: async ({ principal }) => toToken(await revoke(principal.organizationId, principal.tokenId)),
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/tokens/{token_id}',
      operationId: 'getToken',
      summary: 'Get an API token',
      tag: 'tokens',
      auth: { scope: 'org:read' },
      params: tokenParams,
      response: { kind: 'item', data: tokenSchema },
      handler: async ({ principal, params }) => {
        const token = await getApiToken(s.pool, principal.organizationId, params.token_id);
        if (!token) throw notFound('token');
        return toToken(token);
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/tokens',
      operationId: 'createToken',
      summary: 'Create an API token (the response is the only time it is shown)',
      tag: 'tokens',
      auth: { scope: 'project:admin' },
      body: createTokenBody,
      response: { kind: 'item', status: 201, data: createdTokenSchema },
      handler: async ({ principal, body }) => {
        const beyond = body.scopes.filter((scope) => !principal.scopes.has(scope));
        if (beyond.length) {
          throw new ApiError(
            'forbidden',
            'A token can only grant scopes it holds itself.',
            beyond.map((scope) => ({ field: 'scopes', message: `this token does not hold ${scope}` })),
          );
        }
        const { token, record } = await createApiToken(s.pool, {
          organizationId: principal.organizationId,
          name: body.name,
          scopes: body.scopes,
          expiresAt: body.expires_at ? new Date(body.expires_at) : null,
          rateLimitPerMinute: body.rate_limit_per_minute ?? null,
        });
        return { ...toToken(record), token };
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/tokens/{token_id}',
      operationId: 'revokeToken',
      summary: 'Revoke an API token (effective immediately)',
      description: 'The token is kept, marked revoked, so it still appears in listings. Revoking a revoked token changes nothing.',
      tag: 'tokens',
      auth: { scope: 'project:admin' },
      params: tokenParams,
      response: { kind: 'item', data: tokenSchema },
      handler: async ({ principal, params }) => toToken(await revoke(principal.organizationId, params.token_id)),
    }),
  ];
}
