import { ConflictError, isUniqueViolation } from './organizations';
import type { Queryable } from './pool';
import type { Exporter, Project, ProjectKey } from './projects';
import { generatePublicKey } from './tokens';

/**
 * Listing, changing and removing projects, their DSN keys and their flow exporters, always within one
 * organization (a project of another organization is simply not found).
 */
export interface Page {
  limit: number;
  offset: number;
}

export async function listProjects(db: Queryable, organizationId: number, page: Page): Promise<{ items: Project[]; total: number }> {
  const [{ rows }, count] = await Promise.all([
    db.query<Project>('select * from projects where organization_id = $1 order by id limit $2 offset $3', [organizationId, page.limit, page.offset]),
    db.query<{ n: number }>('select count(*)::int as n from projects where organization_id = $1', [organizationId]),
  ]);
  return { items: rows, total: count.rows[0]!.n };
}

/** Renames a project and/or changes its slug; null when it is not in this organization. */
export async function updateProject(
  db: Queryable,
  organizationId: number,
  projectId: number,
  patch: { name?: string; slug?: string },
): Promise<Project | null> {
  try {
    const { rows } = await db.query<Project>(
      `update projects set name = coalesce($3, name), slug = coalesce($4, slug)
       where organization_id = $1 and id = $2 returning *`,
      [organizationId, projectId, patch.name ?? null, patch.slug ?? null],
    );
    return rows[0] ?? null;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`a project "${patch.slug}" already exists in this organization`);
    throw err;
  }
}

/** Deletes a project with its keys and exporters (its stored events age out with their partitions). */
export async function deleteProject(db: Queryable, organizationId: number, projectId: number): Promise<boolean> {
  const { rowCount } = await db.query('delete from projects where organization_id = $1 and id = $2', [organizationId, projectId]);
  return (rowCount ?? 0) > 0;
}

export async function listProjectKeysPage(db: Queryable, projectId: number, page: Page): Promise<{ items: ProjectKey[]; total: number }> {
  const [{ rows }, count] = await Promise.all([
    db.query<ProjectKey>('select * from project_keys where project_id = $1 order by id limit $2 offset $3', [projectId, page.limit, page.offset]),
    db.query<{ n: number }>('select count(*)::int as n from project_keys where project_id = $1', [projectId]),
  ]);
  return { items: rows, total: count.rows[0]!.n };
}

export async function getProjectKey(db: Queryable, projectId: number, keyId: number): Promise<ProjectKey | null> {
  const { rows } = await db.query<ProjectKey>('select * from project_keys where project_id = $1 and id = $2', [projectId, keyId]);
  return rows[0] ?? null;
}

/** A new DSN key with a label and an optional per-minute event limit. */
export async function addProjectKey(
  db: Queryable,
  projectId: number,
  options: { label?: string; rateLimitPerMinute?: number | null },
): Promise<ProjectKey> {
  const { rows } = await db.query<ProjectKey>(
    'insert into project_keys (project_id, public_key, label, rate_limit_per_minute) values ($1, $2, $3, $4) returning *',
    [projectId, generatePublicKey(), options.label ?? 'Default', options.rateLimitPerMinute ?? null],
  );
  return rows[0]!;
}

/** Revokes a key of this project; returns it (revoked ones unchanged), or null when it is not the project's. */
export async function revokeKeyOfProject(db: Queryable, projectId: number, keyId: number): Promise<ProjectKey | null> {
  const { rows } = await db.query<ProjectKey>(
    `update project_keys set status = 'revoked', revoked_at = coalesce(revoked_at, now())
     where project_id = $1 and id = $2 returning *`,
    [projectId, keyId],
  );
  return rows[0] ?? null;
}

const EXPORTER_COLUMNS = 'id, project_id, cidr::text as cidr, observation_domain, name, created_at';

export async function listProjectExporters(db: Queryable, projectId: number, page: Page): Promise<{ items: Exporter[]; total: number }> {
  const [{ rows }, count] = await Promise.all([
    db.query<Exporter>(`select ${EXPORTER_COLUMNS} from exporters where project_id = $1 order by id limit $2 offset $3`, [projectId, page.limit, page.offset]),
    db.query<{ n: number }>('select count(*)::int as n from exporters where project_id = $1', [projectId]),
  ]);
  return { items: rows, total: count.rows[0]!.n };
}

export async function getProjectExporter(db: Queryable, projectId: number, exporterId: number): Promise<Exporter | null> {
  const { rows } = await db.query<Exporter>(`select ${EXPORTER_COLUMNS} from exporters where project_id = $1 and id = $2`, [projectId, exporterId]);
  return rows[0] ?? null;
}

export async function deleteProjectExporter(db: Queryable, projectId: number, exporterId: number): Promise<boolean> {
  const { rowCount } = await db.query('delete from exporters where project_id = $1 and id = $2', [projectId, exporterId]);
  return (rowCount ?? 0) > 0;
}

/**
 * Registers an exporter; the address is normalised to its network (`10.0.0.7/24` → `10.0.0.0/24`, a
 * bare address → `/32` or `/128`). Throws ConflictError when the same CIDR and domain are registered.
 */
export async function registerExporter(
  db: Queryable,
  projectId: number,
  input: { cidr: string; observationDomain?: number | null; name?: string | null },
): Promise<Exporter> {
  try {
    const { rows } = await db.query<Exporter>(
      `insert into exporters (project_id, cidr, observation_domain, name) values ($1, network($2::inet)::cidr, $3, $4)
       returning ${EXPORTER_COLUMNS}`,
      [projectId, input.cidr, input.observationDomain ?? null, input.name ?? null],
    );
    return rows[0]!;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`exporter ${input.cidr} is already registered for this project`);
    throw err;
  }
}
