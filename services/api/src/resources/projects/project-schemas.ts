import { isIP } from 'node:net';
import type { Exporter, Project, ProjectKey } from '@vigil/db';
import { z } from 'zod';
import { iso, isoOrNull, nullableTimestamp, timestamp } from '../resource-ids';

export const projectSchema = z
  .object({ id: z.number().int(), name: z.string(), slug: z.string(), created_at: timestamp })
  .meta({ id: 'Project' });

export const projectKeySchema = z
  .object({
    id: z.number().int(),
    project_id: z.number().int(),
    label: z.string(),
    public_key: z.string(),
    dsn: z.string().meta({ description: 'What Sentry SDKs and native senders are configured with.' }),
    status: z.enum(['active', 'revoked']),
    rate_limit_per_minute: z.number().int().nullable(),
    created_at: timestamp,
    revoked_at: nullableTimestamp,
  })
  .meta({ id: 'ProjectKey' });

export const createdProjectSchema = projectSchema
  .extend({ key: projectKeySchema.meta({ description: 'The first DSN key, created with the project.' }) })
  .meta({ id: 'CreatedProject' });

export const exporterSchema = z
  .object({
    id: z.number().int(),
    project_id: z.number().int(),
    cidr: z.string(),
    observation_domain: z.number().int().nullable(),
    name: z.string().nullable(),
    created_at: timestamp,
  })
  .meta({ id: 'Exporter' });

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and "-", at most 63, not starting with "-"');
const name = z.string().trim().min(1).max(200);

export const createProjectBody = z.strictObject({ name }).meta({ id: 'CreateProject' });
export const updateProjectBody = z
  .strictObject({ name: name.optional(), slug: slug.optional() })
  .refine((b) => b.name !== undefined || b.slug !== undefined, 'give name, slug or both')
  .meta({ id: 'UpdateProject', minProperties: 1 });

export const createKeyBody = z
  .strictObject({
    label: z.string().trim().min(1).max(200).optional(),
    rate_limit_per_minute: z.number().int().min(1).max(10_000_000).nullable().optional(),
  })
  .meta({ id: 'CreateProjectKey' });

/** An IPv4/IPv6 address or CIDR; host bits are cleared when stored. */
export const cidr = z.string().refine((value) => {
  const [addr, bits, extra] = value.split('/');
  const family = isIP(addr ?? '');
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32);
}, 'expected an address or CIDR such as 192.0.2.0/24 or 2001:db8::/32')
  .meta({ pattern: '^[0-9A-Fa-f:.]{2,45}(/[0-9]{1,3})?$' });

export const createExporterBody = z
  .strictObject({
    cidr: cidr.meta({ description: 'Source address or CIDR the exporter sends from; host bits are cleared.' }),
    observation_domain: z.number().int().min(0).max(4294967295).nullable().optional(),
    name: z.string().trim().min(1).max(200).nullable().optional(),
  })
  .meta({ id: 'CreateExporter' });

export const toProject = (p: Project): z.output<typeof projectSchema> => ({ id: p.id, name: p.name, slug: p.slug, created_at: iso(p.created_at) });

export function toProjectKey(k: ProjectKey, dsnOf: (k: ProjectKey) => string): z.output<typeof projectKeySchema> {
  return {
    id: k.id,
    project_id: k.project_id,
    label: k.label,
    public_key: k.public_key,
    dsn: dsnOf(k),
    status: k.status,
    rate_limit_per_minute: k.rate_limit_per_minute,
    created_at: iso(k.created_at),
    revoked_at: isoOrNull(k.revoked_at),
  };
}

export const toExporter = (e: Exporter): z.output<typeof exporterSchema> => ({
  id: e.id,
  project_id: e.project_id,
  cidr: e.cidr,
  observation_domain: e.observation_domain,
  name: e.name,
  created_at: iso(e.created_at),
});
