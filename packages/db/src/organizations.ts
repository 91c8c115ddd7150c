import type { Queryable } from './pool';

export interface Organization {
  id: number;
  slug: string;
  name: string;
  created_at: Date;
}

export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === '23505';

export async function createOrganization(db: Queryable, slug: string, name = slug): Promise<Organization> {
  try {
    const { rows } = await db.query<Organization>(
      'insert into organizations (slug, name) values ($1, $2) returning id, slug, name, created_at',
      [slug, name],
    );
    return rows[0]!;
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`organization "${slug}" already exists`);
    throw err;
  }
}

export async function findOrganizationBySlug(db: Queryable, slug: string): Promise<Organization | null> {
  const { rows } = await db.query<Organization>('select id, slug, name, created_at from organizations where slug = $1', [slug]);
  return rows[0] ?? null;
}

export async function countOrganizations(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('select count(*)::int as n from organizations');
  return rows[0]!.n;
}
