import { getOrganization } from '@vigil/db';
import { z } from 'zod';
import type { ApiServices } from '../api-app';
import { notFound } from '../http/error-catalog';
import { defineRoute, type AnyRoute } from '../http/routes';
import { timestamp } from './resource-ids';

export const organizationSchema = z
  .object({ id: z.number().int(), slug: z.string(), name: z.string(), created_at: timestamp })
  .meta({ id: 'Organization' });

export function organizationRoutes(s: ApiServices): AnyRoute[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/organization',
      operationId: 'getOrganization',
      summary: "The token's organization",
      tag: 'organization',
      auth: { scope: 'org:read' },
      response: { kind: 'item', data: organizationSchema },
      handler: async ({ principal }) => {
        const org = await getOrganization(s.pool, principal.organizationId);
        if (!org) throw notFound('organization');
        return { id: org.id, slug: org.slug, name: org.name, created_at: org.created_at.toISOString() };
      },
    }),
  ];
}
