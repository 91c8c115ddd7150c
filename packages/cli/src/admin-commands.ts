import { durationMs } from '@vigil/config';
import {
  createApiToken,
  createOrganization,
  createProject,
  findOrganizationBySlug,
  SCOPES,
  withTransaction,
  type Pool,
  type Scope,
} from '@vigil/db';
import { withDatabase } from './database';
import { UsageError, type Output } from './output';
import { formatDsn, ingestBaseUrl, type Settings } from './settings';

async function organization(pool: Pool, slug: string) {
  const org = await findOrganizationBySlug(pool, slug);
  if (!org) throw new UsageError(`no organization "${slug}" (create it with \`vigil org create ${slug}\`)`);
  return org;
}

export function parseScopes(value: string): Scope[] {
  const scopes = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (scopes.length === 1 && scopes[0] === 'all') return [...SCOPES];
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length || scopes.length === 0) {
    throw new UsageError(`unknown scope ${unknown.join(', ') || '(none given)'}; allowed: ${SCOPES.join(', ')} or "all"`);
  }
  return [...new Set(scopes)] as Scope[];
}

export async function orgCreate(s: Settings, out: Output, slug: string, name?: string) {
  const org = await withDatabase(s, (pool) => createOrganization(pool, slug, name ?? slug));
  out.result({ id: org.id, slug: org.slug, name: org.name, created_at: org.created_at }, `created organization ${org.slug} (id ${org.id})`);
}

export async function tokenCreate(
  s: Settings,
  out: Output,
  opts: { org: string; scopes: string; name?: string | undefined; expires?: string | undefined },
) {
  const scopes = parseScopes(opts.scopes);
  let expiresAt: Date | null = null;
  if (opts.expires) {
    const parsed = durationMs('0').safeParse(opts.expires);
    if (!parsed.success || parsed.data <= 0) throw new UsageError(`--expires ${opts.expires}: expected a duration such as 12h, 30d`);
    expiresAt = new Date(Date.now() + parsed.data);
  }
  const { token, record } = await withDatabase(s, async (pool) =>
    createApiToken(pool, { organizationId: (await organization(pool, opts.org)).id, name: opts.name ?? 'cli', scopes, expiresAt }),
  );
  out.result(
    {
      token,
      id: record.id,
      name: record.name,
      organization: opts.org,
      scopes: record.scopes,
      expires_at: record.expires_at,
      created_at: record.created_at,
    },
    `${token}\n\nThis token is shown once; store it now. id ${record.id}, scopes ${record.scopes.join(',')}` +
      (record.expires_at ? `, expires ${record.expires_at.toISOString()}` : ''),
  );
}

export async function projectCreate(s: Settings, out: Output, opts: { org: string; name: string }) {
  const { project, key } = await withDatabase(s, async (pool) => {
    const org = await organization(pool, opts.org);
    return withTransaction(pool, (client) => createProject(client, org.id, opts.name));
  });
  const dsn = formatDsn(ingestBaseUrl(s), key.public_key, project.id);
  out.result(
    { id: project.id, organization: opts.org, name: project.name, slug: project.slug, dsn, public_key: key.public_key },
    `created project ${project.slug} (id ${project.id})\nDSN: ${dsn}`,
  );
}
