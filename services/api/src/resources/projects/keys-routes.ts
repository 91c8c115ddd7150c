import { addProjectKey, getProjectKey, listProjectKeysPage, revokeKeyOfProject } from '@vigil/db';
import { z } from 'zod';
import type { ApiServices } from '../../api-app';
import { notFound } from '../../http/error-catalog';
import { pageOffset, pagePagination, pageQuery } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { numericId, projectRef } from '../resource-ids';
import { formatDsn, requireProject } from './project-lookup';
import { createKeyBody, projectKeySchema, toProjectKey } from './project-schemas';
import { projectParams } from './projects-routes';

const keyParams = z.object({ project: projectRef, key_id: numericId });

/** DSN keys of a project: each carries its DSN; revoking keeps the key (status `revoked`) and ingest refuses it. */
export function keyRoutes(s: ApiServices): AnyRoute[] {
  const dsnOf = (k: { public_key: string; project_id: number }) => formatDsn(s.ingestBaseUrl, k.public_key, k.project_id);
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/projects/{project}/keys',
      operationId: 'listProjectKeys',
      summary: "List a project's DSN keys",
      tag: 'projects',
      auth: { scope: 'project:read' },
      params: projectParams,
      query: z.strictObject({ ...pageQuery }),
      response: { kind: 'page', data: projectKeySchema },
      handler: async ({ principal, params, query }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        const { items, total } = await listProjectKeysPage(s.pool, project.id, pageOffset(query));
        return { items: items.map((k) => toProjectKey(k, dsnOf)), pagination: pagePagination(query, total) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/projects/{project}/keys',
      operationId: 'createProjectKey',
      summary: 'Create a DSN key',
      tag: 'projects',
      auth: { scope: 'project:write' },
      params: projectParams,
      body: createKeyBody,
      response: { kind: 'item', status: 201, data: projectKeySchema },
      handler: async ({ principal, params, body }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        const key = await addProjectKey(s.pool, project.id, { label: body.label, rateLimitPerMinute: body.rate_limit_per_minute ?? null });
        return toProjectKey(key, dsnOf);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/projects/{project}/keys/{key_id}',
      operationId: 'getProjectKey',
      summary: 'Get a DSN key',
      tag: 'projects',
      auth: { scope: 'project:read' },
      params: keyParams,
      response: { kind: 'item', data: projectKeySchema },
      handler: async ({ principal, params }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        const key = await getProjectKey(s.pool, project.id, params.key_id);
        if (!key) throw notFound(`key ${params.key_id}`);
        return toProjectKey(key, dsnOf);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/projects/{project}/keys/{key_id}',
      operationId: 'revokeProjectKey',
      summary: 'Revoke a DSN key',
      description: 'Ingest refuses the key from then on (within its key cache). The key stays listed with status `revoked`.',
      tag: 'projects',
      auth: { scope: 'project:write' },
      params: keyParams,
      response: { kind: 'item', data: projectKeySchema },
      handler: async ({ principal, params }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        const key = await revokeKeyOfProject(s.pool, project.id, params.key_id);
        if (!key) throw notFound(`key ${params.key_id}`);
        return toProjectKey(key, dsnOf);
      },
    }),
  ];
}
