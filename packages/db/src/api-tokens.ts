import type { Queryable } from './pool';
import { generateToken, hashToken, isWellFormedToken, tokenPrefix, type Scope } from './tokens';

export interface ApiToken {
  id: string;
  organization_id: number;
  name: string;
  prefix: string;
  scopes: Scope[];
  rate_limit_per_minute: number | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
}

const COLUMNS = 'id, organization_id, name, prefix, scopes, rate_limit_per_minute, expires_at, revoked_at, last_used_at, created_at';

/** Creates a token and returns its plaintext, which is not stored and cannot be shown again. */
export async function createApiToken(
  db: Queryable,
  input: { organizationId: number; name: string; scopes: readonly Scope[]; expiresAt?: Date | null; rateLimitPerMinute?: number | null },
): Promise<{ token: string; record: ApiToken }> {
  const token = generateToken();
  const { rows } = await db.query<ApiToken>(
    `insert into api_tokens (organization_id, name, prefix, token_hash, scopes, expires_at, rate_limit_per_minute)
     values ($1, $2, $3, $4, $5, $6, $7) returning ${COLUMNS}`,
    [input.organizationId, input.name, tokenPrefix(token), hashToken(token), [...input.scopes], input.expiresAt ?? null, input.rateLimitPerMinute ?? null],
  );
  return { token, record: rows[0]! };
}

export type TokenCheck = { ok: true; token: ApiToken } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' };

/** One indexed lookup by hash; says why a token is refused. */
export async function verifyApiToken(db: Queryable, token: string, now = new Date()): Promise<TokenCheck> {
  if (!isWellFormedToken(token)) return { ok: false, reason: 'malformed' };
  const { rows } = await db.query<ApiToken>(`select ${COLUMNS} from api_tokens where token_hash = $1`, [hashToken(token)]);
  const record = rows[0];
  if (!record) return { ok: false, reason: 'unknown' };
  if (record.revoked_at) return { ok: false, reason: 'revoked' };
  if (record.expires_at && record.expires_at <= now) return { ok: false, reason: 'expired' };
  return { ok: true, token: record };
}

export async function revokeApiToken(db: Queryable, organizationId: number, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'update api_tokens set revoked_at = now() where id = $1 and organization_id = $2 and revoked_at is null',
    [id, organizationId],
  );
  return rowCount === 1;
}

export async function touchApiToken(db: Queryable, id: string): Promise<void> {
  await db.query("update api_tokens set last_used_at = now() where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')", [id]);
}
