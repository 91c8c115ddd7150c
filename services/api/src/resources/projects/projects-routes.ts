import { ConflictError, createProject, deleteProject, listProjects, updateProject, withTransaction } from '@vigil/db';
import { z } from 'zod';
import type { ApiServices } from '../../api-app';
import { conflict, notFound } from '../../http/error-catalog';
import { pageOffset, pagePagination, pageQuery } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { projectRef } from '../resource-ids';
import { formatDsn, requireProject } from './project-lookup';
import { createdProjectSchema, createProjectBody, projectSchema, toProject, toProjectKey, updateProjectBody } from './project-schemas';

export const projectParams = z.object({ project: projectRef });

/** Projects of the organization: read with `project:read`, created and changed with `project:write`, deleted with `project:admin`. */
export function projectRoutes(s: ApiServices): AnyRoute[] {
  const dsnOf = (k: { public_key: string; project_id: number }) => formatDsn(s.ingestBaseUrl, k.public_key, k.project_id);
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/projects',
      operationId: 'listProjects',
      summary: 'List projects',
      tag: 'projects',
      auth: { scope: 'project:read' },
      query: z.strictObject({ ...pageQuery }),
      response: { kind: 'page', data: projectSchema },
      handler: async ({ principal, query }) => {
        const { items, total } = await listProjects(s.pool, principal.organizationId, pageOffset(query));
        return { items: items.map(toProject), pagination: pagePagination(query, total) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/projects',
      operationId: 'createProject',
      summary: 'Create a project with its first DSN key',
      tag: 'projects',
      auth: { scope: 'project:write' },
      body: createProjectBody,
      response: { kind: 'item', status: 201, data: createdProjectSchema },
      errors: ['conflict'],
      handler: async ({ principal, body }) => {
        try {
          const { project, key } = await withTransaction(s.pool, (tx) => createProject(tx, principal.organizationId, body.name));
          return { ...toProject(project), key: toProjectKey(key, dsnOf) };
        } catch (err) {
          if (err instanceof ConflictError) throw conflict(err.message);
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/projects/{project}',
      operationId: 'getProject',
      summary: 'Get a project',
      tag: 'projects',
      auth: { scope: 'project:read' },
      params: projectParams,
      response: { kind: 'item', data: projectSchema },
      handler: async ({ principal, params }) => toProject(await requireProject(s.pool, principal.organizationId, params.project)),
    }),
    defineRoute({
      method: 'PATCH',
      path: '/v1/projects/{project}',
      operationId: 'updateProject',
      summary: 'Rename a project or change its slug',
      tag: 'projects',
      auth: { scope: 'project:write' },
      params: projectParams,
      body: updateProjectBody,
      response: { kind: 'item', data: projectSchema },
      errors: ['conflict'],
      handler: async ({ principal, params, body }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        try {
          const updated = await updateProject(s.pool, principal.organizationId, project.id, body);
          if (!updated) throw notFound(`project ${params.project}`);
          return toProject(updated);
        } catch (err) {
          if (err instanceof ConflictError) throw conflict(err.message);
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/projects/{project}',
      operationId: 'deleteProject',
      summary: 'Delete a project with its keys and exporters',
      description: 'Its DSN keys stop working at once. Stored events and flows are no longer served and age out with retention.',
      tag: 'projects',
      auth: { scope: 'project:admin' },
      params: projectParams,
      response: { kind: 'empty' },
      handler: async ({ principal, params }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        if (!(await deleteProject(s.pool, principal.organizationId, project.id))) throw notFound(`project ${params.project}`);
      },
    }),
  ];
}
