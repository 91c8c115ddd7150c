import { ProtocolError } from '@vigil/sentry-protocol';

/** What ingest needs to know about a DSN public key. */
export interface KeyRecord {
  id: number;
  projectId: number;
  active: boolean;
  /** The key's own limit; null means the service default. */
  rateLimitPerMinute: number | null;
}

export type KeyLookup = (publicKey: string) => Promise<KeyRecord | null>;

export interface KeyCacheOptions {
  lookup: KeyLookup;
  /** An answer is used for at most this long; a revoked key is refused this long after revocation. */
  ttlMs: number;
  /** Entries kept (unknown keys included, so a flood of random keys cannot reach the database). */
  maxEntries?: number;
  now?: () => number;
  onLookup?: (result: 'hit' | 'miss' | 'error') => void;
}

interface Entry {
  value: KeyRecord | null;
  fetchedAt: number;
  refreshing: Promise<KeyRecord | null> | null;
}

/**
 * DSN keys by public key, cached so a request costs a Map look-up rather than a query.
 *
 * An answer older than `ttlMs` is never used: the request waits for a fresh look-up (one query per
 * key however many requests wait). Busy keys are refreshed in the background once half the TTL has
 * passed, so they never wait. Unknown keys are cached like known ones. When PostgreSQL fails and
 * there is no answer younger than the TTL, the request is refused with `key_lookup_unavailable`
 * (503) rather than trusting a stale answer, so a revocation always takes effect within the TTL.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(private readonly o: KeyCacheOptions) {
    this.ttlMs = o.ttlMs;
    this.maxEntries = o.maxEntries ?? 100_000;
    this.now = o.now ?? Date.now;
  }

  /** The key, or null when unknown; synchronous when the cached answer is fresh. */
  get(publicKey: string): KeyRecord | null | Promise<KeyRecord | null> {
    const entry = this.entries.get(publicKey);
    const now = this.now();
    if (entry !== undefined) {
      const age = now - entry.fetchedAt;
      if (age < this.ttlMs) {
        if (age >= this.ttlMs / 2 && entry.refreshing === null) void this.refresh(publicKey, entry).catch(() => undefined);
        this.o.onLookup?.('hit');
        return entry.value;
      }
      return entry.refreshing ?? this.refresh(publicKey, entry);
    }
    const fresh: Entry = { value: null, fetchedAt: -Infinity, refreshing: null };
    this.entries.set(publicKey, fresh);
    this.evict();
    return this.refresh(publicKey, fresh);
  }

  /** Drops every cached answer (tests, or an operator forcing re-reads). */
  clear(): void {
    this.entries.clear();
  }

  private refresh(publicKey: string, entry: Entry): Promise<KeyRecord | null> {
    const started = this.now();
    const promise = this.o.lookup(publicKey).then(
      (value) => {
        this.o.onLookup?.('miss');
        entry.value = value;
        entry.fetchedAt = started;
        entry.refreshing = null;
        return value;
      },
      (error: unknown) => {
        this.o.onLookup?.('error');
        entry.refreshing = null;
        if (this.entries.get(publicKey) === entry && entry.fetchedAt === -Infinity) this.entries.delete(publicKey);
        throw new ProtocolError('key_lookup_unavailable', undefined, {}, { cause: error });
      },
    );
    entry.refreshing = promise;
    return promise;
  }

  private evict(): void {
    if (this.entries.size <= this.maxEntries) return;
    // Maps iterate in insertion order: the first entries are the oldest.
    for (const key of this.entries.keys()) {
      this.entries.delete(key);
      if (this.entries.size <= this.maxEntries) break;
    }
  }
}

/** The PostgreSQL look-up behind the cache. */
export function projectKeyLookup(db: { query: (text: string, values: unknown[]) => Promise<{ rows: unknown[] }> }): KeyLookup {
  return async (publicKey) => {
    const { rows } = await db.query(
      `select id, project_id, status = 'active' as active, rate_limit_per_minute
         from project_keys where public_key = $1`,
      [publicKey],
    );
    const row = rows[0] as { id: number; project_id: number; active: boolean; rate_limit_per_minute: number | null } | undefined;
    if (row === undefined) return null;
    return { id: row.id, projectId: row.project_id, active: row.active, rateLimitPerMinute: row.rate_limit_per_minute };
  };
}
