import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Scope } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import { z } from 'zod';
import type { Principal } from '../auth/token-verifier';
import { ApiError, type ErrorCode } from './error-catalog';
import { successBody, type CursorPagination, type PagePagination, type RenderedItems } from './envelope';
import { parseInput } from './request-input';
import { streamNdjson } from './ndjson-stream';

/**
 * The one way an endpoint is declared: method, path, the scope it needs, zod schemas for path, query
 * and body, and what it answers. The same declaration registers the Fastify route (validation with the
 * schemas, the envelope around the result) and becomes the OpenAPI operation, so the document cannot
 * drift from what the handlers accept and return.
 */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** `none`: public; `token`: any valid token; `{scope}`: a token holding that scope. */
export type AuthRequirement = 'none' | 'token' | { scope: Scope };

export type ResponseSpec =
  | { kind: 'item'; status?: 200 | 201 | 202; data: z.ZodType; description?: string }
  | { kind: 'page'; data: z.ZodType; description?: string }
  | { kind: 'cursor'; data: z.ZodType; description?: string }
  | { kind: 'empty'; description?: string }
  | { kind: 'ndjson'; data: z.ZodType; description?: string }
  | { kind: 'raw'; contentType: string; schema: z.ZodType | null; description?: string };

type ObjectSchema = z.ZodObject<z.ZodRawShape>;
type Output<S> = S extends z.ZodType ? z.output<S> : undefined;

export type HandlerResult<R extends ResponseSpec> = R extends { kind: 'item'; data: infer D }
  ? Output<D>
  : R extends { kind: 'page'; data: infer D }
    ? { items: Output<D>[]; pagination: PagePagination }
    : R extends { kind: 'cursor'; data: infer D }
      ? { items: Output<D>[] | RenderedItems; pagination: CursorPagination }
      : R extends { kind: 'ndjson'; data: infer D }
        ? AsyncIterable<Output<D>>
        : R extends { kind: 'raw' }
          ? string
          : void;

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** The calling token; only on routes that require one. */
  principal: Principal;
  requestId: string;
  log: Logger;
  request: FastifyRequest;
  reply: FastifyReply;
}

export interface RouteDefinition<
  P extends ObjectSchema | undefined = ObjectSchema | undefined,
  Q extends ObjectSchema | undefined = ObjectSchema | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
  R extends ResponseSpec = ResponseSpec,
> {
  method: Method;
  /** OpenAPI style: `/v1/projects/{project}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  auth: AuthRequirement;
  params?: P;
  query?: Q;
  body?: B;
  response: R;
  /** Errors this endpoint can answer besides the ones every endpoint can (see openapi-document.ts). */
  errors?: ErrorCode[];
  handler(ctx: RouteContext<Output<P>, Output<Q>, Output<B>>): Promise<HandlerResult<R>>;
}

// Each definition keeps its own generic types; the registry only needs the common surface.
export type AnyRoute = RouteDefinition<any, any, any, any>;

/** Declares a route, inferring the handler's types from its schemas. */
export function defineRoute<
  P extends ObjectSchema | undefined = undefined,
  Q extends ObjectSchema | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends ResponseSpec = ResponseSpec,
>(route: RouteDefinition<P, Q, B, R>): RouteDefinition<P, Q, B, R> {
  return route;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    auth?: AuthRequirement;
    /** Health and metrics routes: no rate limit, no envelope. */
    admin?: boolean;
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';
/** The query of a route that declares none: no parameter is accepted (built once; building a zod schema is costly). */
const NO_QUERY = z.strictObject({});

/** The query of a route that declares none: `{}`, or the refusal naming every parameter given. */
function noQuery(query: unknown): Record<string, never> {
  if (query === null || query === undefined || (typeof query === 'object' && Object.keys(query).length === 0)) return {};
  return parseInput(NO_QUERY, query, 'query');
}

/** Registers declared routes on a Fastify instance. */
export function registerRoutes(app: FastifyInstance, routes: readonly AnyRoute[], log: Logger): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path.replace(/\{(\w+)\}/g, ':$1'),
      config: { auth: route.auth },
      handler: async (request, reply) => {
        const ctx: RouteContext<unknown, unknown, unknown> = {
          params: route.params ? parseInput(route.params, request.params, 'path') : undefined,
          query: route.query ? parseInput(route.query, request.query ?? {}, 'query') : noQuery(request.query),
          body: route.body ? parseInput(route.body, request.body, 'body') : undefined,
          get principal(): Principal {
            if (!request.principal) throw new ApiError('unauthorized');
            return request.principal;
          },
          requestId: request.id,
          log: request.log as unknown as Logger,
          request,
          reply,
        };
        const result = await route.handler(ctx as never);
        const response = route.response as ResponseSpec;
        switch (response.kind) {
          case 'item':
            return reply.code(response.status ?? 200).type(JSON_TYPE).send(successBody(request.id, result));
          case 'page':
          case 'cursor': {
            const list = result as { items: unknown[] | RenderedItems; pagination: PagePagination | CursorPagination };
            return reply.code(200).type(JSON_TYPE).send(successBody(request.id, list.items, list.pagination));
          }
          case 'empty':
            return reply.code(204).send();
          case 'ndjson':
            return streamNdjson(request, reply, result as AsyncIterable<unknown>, log);
          case 'raw':
            return reply.code(200).type(response.contentType).send(result as string);
        }
      },
    });
  }
}
