import { ConflictError, isUniqueViolation } from './organizations';
import type { Queryable } from './pool';
import { generatePublicKey } from './tokens';

export interface Project {
  id: number;
  organization_id: number;
  name: string;
  slug: string;
  created_at: Date;
}

export interface ProjectKey {
  id: number;
  project_id: number;
  public_key: string;
  label: string;
  status: 'active' | 'revoked';
  rate_limit_per_minute: number | null;
  created_at: Date;
  revoked_at: Date | null;
}

export interface Exporter {
  id: number;
  project_id: number;
  cidr: string;
  observation_domain: number | null;
  name: string | null;
  created_at: Date;
}

export function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return slug || 'project';
}

/** Creates a project with its first DSN key. Run it in a transaction to get both or neither. */
export async function createProject(db: Queryable, organizationId: number, name: string): Promise<{ project: Project; key: ProjectKey }> {
  let project: Project;
  try {
    const { rows } = await db.query<Project>(
      'insert into projects (organization_id, name, slug) values ($1, $2, $3) returning *',
      [organizationId, name, slugify(name)],
    );
    project = rows[0]!;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`a project "${slugify(name)}" already exists in this organization`);
    throw err;
  }
  const key = await createProjectKey(db, project.id);
  return { project, key };
}

export async function findProject(db: Queryable, organizationId: number, slugOrId: string): Promise<Project | null> {
  const byId = /^\d+$/.test(slugOrId);
  const { rows } = await db.query<Project>(
    `select * from projects where organization_id = $1 and ${byId ? 'id = $2::bigint' : 'slug = $2'}`,
    [organizationId, slugOrId],
  );
  return rows[0] ?? null;
}

export async function createProjectKey(db: Queryable, projectId: number, label = 'Default'): Promise<ProjectKey> {
  const { rows } = await db.query<ProjectKey>(
    'insert into project_keys (project_id, public_key, label) values ($1, $2, $3) returning *',
    [projectId, generatePublicKey(), label],
  );
  return rows[0]!;
}

export async function revokeProjectKey(db: Queryable, keyId: number): Promise<boolean> {
  const { rowCount } = await db.query(
    "update project_keys set status = 'revoked', revoked_at = now() where id = $1 and status = 'active'",
    [keyId],
  );
  return rowCount === 1;
}

/** The key a DSN names, with its project; revoked keys are returned too so callers can say why they refuse. */
export async function findProjectKey(db: Queryable, publicKey: string): Promise<ProjectKey | null> {
  const { rows } = await db.query<ProjectKey>('select * from project_keys where public_key = $1', [publicKey]);
  return rows[0] ?? null;
}

export async function listProjectKeys(db: Queryable, projectId: number): Promise<ProjectKey[]> {
  const { rows } = await db.query<ProjectKey>('select * from project_keys where project_id = $1 order by id', [projectId]);
  return rows;
}

export async function createExporter(
  db: Queryable,
  projectId: number,
  cidr: string,
  options: { observationDomain?: number | null; name?: string | null } = {},
): Promise<Exporter> {
  try {
    const { rows } = await db.query<Exporter>(
      `insert into exporters (project_id, cidr, observation_domain, name) values ($1, $2::cidr, $3, $4)
       returning id, project_id, cidr::text as cidr, observation_domain, name, created_at`,
      [projectId, cidr, options.observationDomain ?? null, options.name ?? null],
    );
    return rows[0]!;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`exporter ${cidr} is already registered for this project`);
    throw err;
  }
}

export async function listExporters(db: Queryable): Promise<Exporter[]> {
  const { rows } = await db.query<Exporter>(
    'select id, project_id, cidr::text as cidr, observation_domain, name, created_at from exporters order by id',
  );
  return rows;
}
