import { createHash } from 'node:crypto';
import { touchApiToken, verifyApiToken, type ApiToken, type Pool, type Scope, type TokenCheck } from '@vigil/db';
import type { Logger } from '@vigil/logging';

/** Who is calling: the verified token, reduced to what requests need. */
export interface Principal {
  tokenId: string;
  tokenName: string;
  organizationId: number;
  scopes: ReadonlySet<Scope>;
  rateLimitPerMinute: number | null;
}

export type RefusalReason = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';
export type Verification = { ok: true; principal: Principal } | { ok: false; reason: RefusalReason };

type Lookup = { ok: true; principal: Principal; expiresAt: number | null } | { ok: false; reason: RefusalReason };

interface Entry {
  at: number;
  lookup: Promise<Lookup>;
}

export interface TokenVerifierOptions {
  pool: Pool;
  logger: Logger;
  /** How long a looked-up token is reused without asking the database again. */
  ttlMs: number;
  maxEntries?: number;
  /** last_used_at is written at most this often per token and instance. */
  touchIntervalMs?: number;
  onLookup?: (result: 'hit' | 'miss') => void;
}

/**
 * Bearer token verification: one lookup of the token's SHA-256 through the unique index, cached
 * briefly in memory (keyed by the hash, never the token), with concurrent requests of one token
 * sharing the lookup. Expiry is checked on every request against the cached record; a revocation
 * through this API drops the entry at once (`forget`), and other instances learn it through the
 * revocation marker the rate limiter reads. A token revoked directly in the database stops working
 * within the cache TTL.
 */
export class TokenVerifier {
  private readonly entries = new Map<string, Entry>();
  private readonly touched = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly touchIntervalMs: number;

  constructor(private readonly o: TokenVerifierOptions) {
    this.maxEntries = o.maxEntries ?? 10_000;
    this.touchIntervalMs = o.touchIntervalMs ?? 60_000;
  }

  async verify(token: string | null, now = Date.now()): Promise<Verification> {
    if (token === null) return { ok: false, reason: 'missing' };
    const key = createHash('sha256').update(token).digest('base64');
    let entry = this.entries.get(key);
    if (entry && now - entry.at > this.o.ttlMs) {
      this.entries.delete(key);
      entry = undefined;
    }
    this.o.onLookup?.(entry ? 'hit' : 'miss');
    if (!entry) {
      entry = { at: now, lookup: verifyApiToken(this.o.pool, token, new Date(now)).then(toLookup) };
      if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, entry);
      // A failed lookup (database down) is not remembered.
      const created = entry;
      created.lookup.catch(() => this.entries.get(key) === created && this.entries.delete(key));
    }
    const lookup = await entry.lookup;
    if (!lookup.ok) return lookup;
    if (lookup.expiresAt !== null && lookup.expiresAt <= now) return { ok: false, reason: 'expired' };
    this.touch(lookup.principal.tokenId, now);
    return { ok: true, principal: lookup.principal };
  }

  /** Drops every cached entry of this token (after a revocation). */
  forget(tokenId: string): void {
    for (const [key, entry] of this.entries) {
      void entry.lookup.then(
        (lookup) => lookup.ok && lookup.principal.tokenId === tokenId && this.entries.get(key) === entry && this.entries.delete(key),
        () => undefined,
      );
    }
  }

  /** last_used_at, at most once a minute per token: a single-row update off the request path. */
  private touch(tokenId: string, now: number): void {
    const last = this.touched.get(tokenId);
    if (last !== undefined && now - last < this.touchIntervalMs) return;
    if (this.touched.size >= this.maxEntries) this.touched.clear();
    this.touched.set(tokenId, now);
    touchApiToken(this.o.pool, tokenId).catch((err: unknown) => this.o.logger.warn({ err, token_id: tokenId }, 'could not record token use'));
  }
}

function toLookup(check: TokenCheck): Lookup {
  if (!check.ok) return check;
  const token: ApiToken = check.token;
  return {
    ok: true,
    expiresAt: token.expires_at?.getTime() ?? null,
    principal: {
      tokenId: token.id,
      tokenName: token.name,
      organizationId: token.organization_id,
      scopes: new Set(token.scopes),
      rateLimitPerMinute: token.rate_limit_per_minute,
    },
  };
}

/** The token of an `Authorization: Bearer …` header; null when there is none. Other schemes count as malformed. */
export function bearerToken(header: string | undefined): string | null | 'malformed' {
  if (header === undefined || header === '') return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1]! : 'malformed';
}
