import type { Organization } from './organizations';
import type { Queryable } from './pool';

/** The organization a token belongs to, as the API shows it. */
export async function getOrganization(db: Queryable, organizationId: number): Promise<Organization | null> {
  // Named: parsed and planned once per connection (the API runs it for every GET /v1/organization).
  const { rows } = await db.query<Organization>({ name: 'vigil_api_organization', text: 'select id, slug, name, created_at from organizations where id = $1', values: [organizationId] });
  return rows[0] ?? null;
}

/** Ids of the organization's projects: what every event, flow and alert query of a tenant is confined to. */
export async function organizationProjectIds(db: Queryable, organizationId: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>('select id from projects where organization_id = $1 order by id', [organizationId]);
  return rows.map((r) => r.id);
}
