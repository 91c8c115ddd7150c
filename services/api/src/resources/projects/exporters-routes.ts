import { ConflictError, deleteProjectExporter, getProjectExporter, listProjectExporters, registerExporter } from '@vigil/db';
import { z } from 'zod';
import type { ApiServices } from '../../api-app';
import { conflict, notFound } from '../../http/error-catalog';
import { pageOffset, pagePagination, pageQuery } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { numericId, projectRef } from '../resource-ids';
import { requireProject } from './project-lookup';
import { createExporterBody, exporterSchema, toExporter } from './project-schemas';
import { projectParams } from './projects-routes';

const exporterParams = z.object({ project: projectRef, exporter_id: numericId });

/** Flow exporters registered for a project (CONTRACT.md §5): the collector accepts flows only from these. */
export function exporterRoutes(s: ApiServices): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/projects/{project}/exporters',
      operationId: 'listExporters',
      summary: "List a project's flow exporters",
      tag: 'projects',
      auth: { scope: 'project:read' },
      params: projectParams,
      query: z.strictObject({ ...pageQuery }),
      response: { kind: 'page', data: exporterSchema },
      handler: async ({ principal, params, query }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        const { items, total } = await listProjectExporters(s.pool, project.id, pageOffset(query));
        return { items: items.map(toExporter), pagination: pagePagination(query, total) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/projects/{project}/exporters',
      operationId: 'createExporter',
      summary: 'Register a flow exporter by source CIDR and optional observation domain',
      tag: 'projects',
      auth: { scope: 'project:write' },
      params: projectParams,
      body: createExporterBody,
      response: { kind: 'item', status: 201, data: exporterSchema },
      errors: ['conflict'],
      handler: async ({ principal, params, body }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        try {
          return toExporter(await registerExporter(s.pool, project.id, { cidr: body.cidr, observationDomain: body.observation_domain, name: body.name }));
        } catch (err) {
          if (err instanceof ConflictError) throw conflict(err.message);
          throw err;
        }
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/projects/{project}/exporters/{exporter_id}',
      operationId: 'getExporter',
      summary: 'Get a flow exporter',
      tag: 'projects',
      auth: { scope: 'project:read' },
      params: exporterParams,
      response: { kind: 'item', data: exporterSchema },
      handler: async ({ principal, params }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        const exporter = await getProjectExporter(s.pool, project.id, params.exporter_id);
        if (!exporter) throw notFound(`exporter ${params.exporter_id}`);
        return toExporter(exporter);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/projects/{project}/exporters/{exporter_id}',
      operationId: 'deleteExporter',
      summary: 'Remove a flow exporter',
      tag: 'projects',
      auth: { scope: 'project:write' },
      params: exporterParams,
      response: { kind: 'empty' },
      handler: async ({ principal, params }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        if (!(await deleteProjectExporter(s.pool, project.id, params.exporter_id))) throw notFound(`exporter ${params.exporter_id}`);
      },
    }),
  ];
}
