import type { ApiToken } from './api-tokens';
import type { Queryable } from './pool';

const COLUMNS = 'id, organization_id, name, prefix, scopes, rate_limit_per_minute, expires_at, revoked_at, last_used_at, created_at';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The organization's tokens (never their hashes), newest first. */
export async function listApiTokens(
  db: Queryable,
  organizationId: number,
  page: { limit: number; offset: number },
): Promise<{ items: ApiToken[]; total: number }> {
  const [{ rows }, count] = await Promise.all([
    db.query<ApiToken>(`select ${COLUMNS} from api_tokens where organization_id = $1 order by created_at desc, id desc limit $2 offset $3`, [
      organizationId,
      page.limit,
      page.offset,
    ]),
    db.query<{ n: number }>('select count(*)::int as n from api_tokens where organization_id = $1', [organizationId]),
  ]);
  return { items: rows, total: count.rows[0]!.n };
}

/** A token of this organization, or null (also for ids that are not UUIDs). */
export async function getApiToken(db: Queryable, organizationId: number, id: string): Promise<ApiToken | null> {
  if (!UUID.test(id)) return null;
  const { rows } = await db.query<ApiToken>(`select ${COLUMNS} from api_tokens where organization_id = $1 and id = $2`, [organizationId, id]);
  return rows[0] ?? null;
}
