import { z } from 'zod';
import { ERROR_CATALOG, type ErrorCode } from '../http/error-catalog';
import { cursorPaginationSchema, errorSchema, metaSchema, pagePaginationSchema } from '../http/envelope';
import type { AnyRoute, ResponseSpec } from '../http/routes';
import { SchemaComponents } from './json-schema';

type Json = Record<string, unknown>;

export interface DocumentInfo {
  version: string;
  serverUrl?: string;
}

const RATE_LIMIT_HEADERS = {
  'X-RateLimit-Limit': { description: 'Requests allowed in a sliding minute for this token (or client address without a token).', schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'Requests left in the current sliding minute.', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'Unix time (seconds) at which the current one-minute window ends.', schema: { type: 'integer' } },
  'X-Request-Id': { description: 'The request id, as in `meta.request_id`.', schema: { type: 'string' } },
};

/**
 * The OpenAPI 3.1 document of the declared routes: every operation with its parameters, body, success
 * response inside the envelope, and every error response it can give, all from the zod schemas the
 * routes validate with.
 */
export function buildOpenApiDocument(routes: readonly AnyRoute[], info: DocumentInfo): Json {
  const components = new SchemaComponents();
  const refs = {
    meta: components.convert(metaSchema, 'output'),
    error: components.convert(errorSchema, 'output'),
    page: components.convert(pagePaginationSchema, 'output'),
    cursor: components.convert(cursorPaginationSchema, 'output'),
  };
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const operation: Json = {
      operationId: route.operationId,
      summary: route.summary,
      description: describe(route),
      tags: [route.tag],
      security: route.auth === 'none' ? [] : [{ bearerToken: [] }],
      ...(typeof route.auth === 'object' ? { 'x-required-scope': route.auth.scope } : {}),
      parameters: [...parameters(route.params, 'path', components), ...parameters(route.query, 'query', components)],
    };
    if (route.body) {
      // A body whose schema accepts nothing at all (rotate-secret, the default rule pack) may be left out.
      const required = !route.body.safeParse(undefined).success;
      operation.requestBody = { required, content: { 'application/json': { schema: components.convert(route.body, 'input') } } };
    }
    operation.responses = { ...success(route.response, components, refs), ...errors(route, refs.error) };
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Vigil API',
      version: info.version,
      description:
        'The read API of Vigil, a self-hosted security event pipeline. Authenticate with `Authorization: Bearer vgl_…`; ' +
        'every endpoint names the scope it needs (`x-required-scope`). Successful responses are `{data, meta, pagination?}`, ' +
        'errors `{error: {code, message, details}, meta}`; see docs/api.md.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    ...(info.serverUrl ? { servers: [{ url: info.serverUrl }] } : {}),
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: components.schemas,
      securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer', bearerFormat: 'vgl_ followed by 43 base62 characters' } },
    },
  };
}

function describe(route: AnyRoute): string {
  const scope =
    route.auth === 'none' ? 'No token needed.' : route.auth === 'token' ? 'Any valid token.' : `Requires the scope \`${route.auth.scope}\`.`;
  return route.description ? `${route.description}\n\n${scope}` : scope;
}

function parameters(schema: z.ZodObject<z.ZodRawShape> | undefined, where: 'path' | 'query', components: SchemaComponents): Json[] {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const converted = components.convert(field as z.ZodType, 'input');
    const { description, ...paramSchema } = converted as Json & { description?: string };
    const optional = where === 'query' && ((field as z.ZodType).safeParse(undefined).success);
    return {
      name,
      in: where,
      required: !optional,
      ...(description ? { description } : {}),
      schema: paramSchema,
    };
  });
}

function envelope(data: Json, refs: { meta: Json }, pagination?: Json): Json {
  const properties: Json = { data, meta: refs.meta };
  if (pagination) properties.pagination = pagination;
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

function success(response: ResponseSpec, components: SchemaComponents, refs: { meta: Json; page: Json; cursor: Json }): Json {
  const headers = RATE_LIMIT_HEADERS;
  const json = (schema: Json) => ({ 'application/json': { schema } });
  switch (response.kind) {
    case 'item':
      return {
        [String(response.status ?? 200)]: {
          description: response.description ?? 'Success.',
          headers,
          content: json(envelope(components.convert(response.data, 'output'), refs)),
        },
      };
    case 'page':
    case 'cursor': {
      const items = { type: 'array', items: components.convert(response.data, 'output') };
      return {
        200: {
          description: response.description ?? 'One page of results.',
          headers,
          content: json(envelope(items, refs, response.kind === 'page' ? refs.page : refs.cursor)),
        },
      };
    }
    case 'empty':
      return { 204: { description: response.description ?? 'Done; no content.', headers } };
    case 'ndjson':
      return {
        200: {
          description:
            (response.description ?? 'A stream of newline-delimited JSON objects.') +
            ' Each line is one item; if the export fails part-way, its last line is an Error object instead.',
          headers,
          content: { 'application/x-ndjson': { schema: components.convert(response.data, 'output') } },
        },
      };
    case 'raw':
      return {
        200: {
          description: response.description ?? 'Success.',
          headers,
          content: { [response.contentType]: { schema: response.schema ? components.convert(response.schema, 'output') : {} } },
        },
      };
  }
}

/** The errors an operation can answer, beyond its own `errors` list. */
export function errorCodesOf(route: AnyRoute): ErrorCode[] {
  const codes = new Set<ErrorCode>(['validation_error', 'rate_limited', 'internal_error', 'service_unavailable']);
  if (route.auth !== 'none') codes.add('unauthorized');
  if (typeof route.auth === 'object') codes.add('forbidden');
  if (route.params) codes.add('not_found');
  if (route.method !== 'GET') {
    codes.add('payload_too_large');
    codes.add('unsupported_media_type');
  }
  for (const code of route.errors ?? []) codes.add(code);
  return [...codes];
}

function errors(route: AnyRoute, errorRef: Json): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorCodesOf(route)) {
    const status = ERROR_CATALOG[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Json = {};
  for (const [status, codes] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const headers: Json = { ...RATE_LIMIT_HEADERS };
    if (status === 429 || status === 503) headers['Retry-After'] = { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } };
    if (status === 401) headers['WWW-Authenticate'] = { schema: { type: 'string' } };
    out[String(status)] = {
      description: codes.map((c) => `\`${c}\`: ${ERROR_CATALOG[c].when}`).join(' '),
      headers,
      content: { 'application/json': { schema: errorRef } },
    };
  }
  return out;
}
