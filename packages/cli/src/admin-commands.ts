import { durationMs } from '@vigil/config';
import {
  createApiToken,
  createOrganization,
  createProject,
  findOrganizationBySlug,
  findProject,
  SCOPES,
  withTransaction,
  type Pool,
  type Scope,
} from '@vigil/db';
import { RuleValidationError } from '@vigil/rule-engine';
// The rules service's default pack installer, imported by path: deployables are not linked as packages.
import { installDefaultRules } from '../../../services/rules/src/default-rules';
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

/**
 * Stores the default rule pack for one project (`--project` id, or slug with `--org`); rules already
 * there are left as they are, so running it again installs nothing new.
 */
export async function rulesDefaults(s: Settings, out: Output, opts: { project: string; org?: string | undefined; blocklist?: string | undefined }) {
  const blocklist = opts.blocklist?.split(',').map((b) => b.trim()).filter(Boolean);
  const { project, installed } = await withDatabase(s, async (pool) => {
    let project;
    if (opts.org !== undefined) {
      project = await findProject(pool, (await organization(pool, opts.org)).id, opts.project);
    } else {
      if (!/^\d+$/.test(opts.project)) throw new UsageError(`--project ${opts.project}: give the numeric project id, or the slug with --org`);
      const { rows } = await pool.query<{ id: number; organization_id: number; slug: string }>('select id, organization_id, slug from projects where id = $1::bigint', [opts.project]);
      project = rows[0];
    }
    if (!project) throw new UsageError(`no project "${opts.project}"${opts.org !== undefined ? ` in organization "${opts.org}"` : ''}`);
    try {
      const installed = await installDefaultRules(pool, { organizationId: project.organization_id, projectId: project.id, actor: 'cli', options: { blocklist } });
      return { project, installed };
    } catch (err) {
      if (err instanceof RuleValidationError) throw new UsageError(`--blocklist: ${err.issues.map((i) => i.message).join('; ')}`);
      throw err;
    }
  });
  const created = installed.created.map((r) => r.id);
  out.result(
    { project: project.id, created, existing: installed.existing },
    created.length
      ? `installed ${created.length} default rule(s) for project ${project.slug} (id ${project.id}): ${created.join(', ')}` +
          (installed.existing.length ? `\nalready present, left unchanged: ${installed.existing.join(', ')}` : '')
      : `nothing to install: project ${project.slug} (id ${project.id}) already has the default rules (${installed.existing.join(', ')})`,
  );
}
