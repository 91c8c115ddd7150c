import { readFileSync } from 'node:fs';
import { defineRoute, type AnyRoute } from '../http/routes';
import { buildOpenApiDocument } from './openapi-document';
import { renderReferencePage } from './reference-page';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** `GET /v1/openapi.json` and the rendered reference at `GET /docs`, both built once from the declared routes. */
export function openApiRoutes(allRoutes: () => readonly AnyRoute[]): AnyRoute[] {
  let json: string | null = null;
  let html: string | null = null;
  const document = () => (json ??= JSON.stringify(buildOpenApiDocument(allRoutes(), { version: VERSION })));
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/openapi.json',
      operationId: 'getOpenApiDocument',
      summary: 'This OpenAPI 3.1 document',
      tag: 'meta',
      auth: 'none',
      response: { kind: 'raw', contentType: 'application/json; charset=utf-8', schema: null, description: 'The OpenAPI 3.1 document.' },
      handler: async () => document(),
    }),
    defineRoute({
      method: 'GET',
      path: '/docs',
      operationId: 'getReferencePage',
      summary: 'The API reference as a web page',
      tag: 'meta',
      auth: 'none',
      response: { kind: 'raw', contentType: 'text/html; charset=utf-8', schema: null, description: 'An HTML page.' },
      handler: async () => (html ??= renderReferencePage(JSON.parse(document()) as Parameters<typeof renderReferencePage>[0])),
    }),
  ];
}
