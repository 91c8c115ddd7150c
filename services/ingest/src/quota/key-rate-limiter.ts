import type { Redis } from 'ioredis';
import type { Logger } from '@vigil/logging';
import { ProtocolError } from '@vigil/sentry-protocol';

/**
 * Per-key event quotas in fixed one-minute windows, shared by every ingest instance through Redis
 * (`INCRBY` of one counter per key and window, expiring with the window).
 *
 * Decisions are made locally and synchronously: a key's count is the total Redis last reported
 * plus what this instance accepted since. Accepted events are added to Redis in the background,
 * with at most one round trip in flight and at most one per `syncIntervalMs` (everything accepted
 * meanwhile goes in the next one), so the hot path never waits for Redis and Redis sees one
 * command per busy key per interval instead of one per request. With one instance the limit is
 * exact; with several, each may overshoot by what the others accepted during one interval and
 * round trip. If Redis is unreachable the limit holds per instance, and the counts are added once
 * it is back (within the window).
 */

export interface KeyQuota {
  /** Key id (the Redis counter's name). */
  id: number;
  /** The key's own limit, or null for the default. */
  rateLimitPerMinute: number | null;
}

export interface KeyRateLimiterOptions {
  redis: Redis;
  /** Events per minute for keys without their own limit; 0 means unlimited. */
  defaultPerMinute: number;
  /** Prefix of the Redis keys, so deployments sharing a Redis stay apart. */
  keyPrefix: string;
  logger: Logger;
  onSyncError?: () => void;
  /** Least time between two round trips to Redis (default 20 ms): busy keys share one. */
  syncIntervalMs?: number;
  now?: () => number;
}

const WINDOW_MS = 60_000;
/** Pause before trying Redis again after a failure. */
const RETRY_MS = 1000;

interface Counter {
  window: number;
  /** Total for the window across instances, as of the last round trip. */
  remote: number;
  /** Accepted here and not yet added in Redis. */
  pending: number;
}

const INCREMENT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return count`;

type WithIncrement = Redis & { vigilQuotaIncrement(key: string, by: number, ttlMs: number): Promise<number> };

export class KeyRateLimiter {
  private readonly counters = new Map<number, Counter>();
  private syncing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastRoundTrip = Number.NEGATIVE_INFINITY;
  private readonly syncIntervalMs: number;
  private closed = false;
  private readonly now: () => number;
  private readonly redis: WithIncrement;
  private lastErrorLog = 0;

  constructor(private readonly o: KeyRateLimiterOptions) {
    this.now = o.now ?? Date.now;
    this.syncIntervalMs = o.syncIntervalMs ?? 20;
    if (typeof (o.redis as unknown as Partial<WithIncrement>).vigilQuotaIncrement !== 'function') {
      o.redis.defineCommand('vigilQuotaIncrement', { numberOfKeys: 1, lua: INCREMENT });
    }
    this.redis = o.redis as unknown as WithIncrement;
  }

  private limitOf(key: KeyQuota): number {
    return key.rateLimitPerMinute ?? this.o.defaultPerMinute;
  }

  /**
   * Counts `quantity` events against the key. Returns null when they are within the limit, or the
   * seconds until the window ends when they are not (nothing is counted then).
   */
  take(key: KeyQuota, quantity: number): number | null {
    const limit = this.limitOf(key);
    if (limit <= 0 || quantity <= 0) return null;
    const now = this.now();
    const counter = this.counter(key.id, now);
    if (counter.remote + counter.pending + quantity > limit) return this.secondsLeft(now);
    counter.pending += quantity;
    this.sync();
    return null;
  }

  /** Seconds until the window ends when the key has nothing left, else null. Counts nothing. */
  exhausted(key: KeyQuota): number | null {
    const limit = this.limitOf(key);
    if (limit <= 0) return null;
    const now = this.now();
    const counter = this.counters.get(key.id);
    if (counter === undefined || counter.window !== Math.floor(now / WINDOW_MS)) return null;
    return counter.remote + counter.pending >= limit ? this.secondsLeft(now) : null;
  }

  /** Waits for the counts accepted so far to reach Redis (shutdown, tests). */
  async flush(): Promise<void> {
    while (this.syncing !== null) await this.syncing;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if ([...this.counters.values()].some((c) => c.pending > 0)) {
      this.lastRoundTrip = Number.NEGATIVE_INFINITY;
      this.sync();
      while (this.syncing !== null) await this.syncing;
    }
  }

  async close(): Promise<void> {
    await this.flush().catch(() => undefined);
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }

  private counter(id: number, now: number): Counter {
    const window = Math.floor(now / WINDOW_MS);
    let counter = this.counters.get(id);
    if (counter === undefined || counter.window !== window) {
      counter = { window, remote: 0, pending: 0 };
      this.counters.set(id, counter);
    }
    return counter;
  }

  private secondsLeft(now: number): number {
    return Math.max(1, Math.ceil((WINDOW_MS - (now % WINDOW_MS)) / 1000));
  }

  private sync(): void {
    if (this.syncing !== null || this.timer !== null || this.closed) return;
    const wait = this.lastRoundTrip + this.syncIntervalMs - this.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.sync();
      }, wait);
      this.timer.unref();
      return;
    }
    this.lastRoundTrip = this.now();
    this.syncing = this.roundTrip().then((ok) => {
      this.syncing = null;
      const window = Math.floor(this.now() / WINDOW_MS);
      let more = false;
      for (const c of this.counters.values()) if (c.pending > 0 && c.window === window) more = true;
      if (!more) return;
      // More was accepted during the round trip: send it at the next interval, or after a pause if Redis failed.
      if (!ok) this.lastRoundTrip = this.now() + RETRY_MS - this.syncIntervalMs;
      this.sync();
    });
  }

  /** One INCRBY per key with pending counts; false when Redis failed (counts stay pending). */
  private async roundTrip(): Promise<boolean> {
    const window = Math.floor(this.now() / WINDOW_MS);
    const batch: Array<{ id: number; counter: Counter; amount: number }> = [];
    for (const [id, counter] of this.counters) {
      if (counter.window !== window) {
        this.counters.delete(id);
        continue;
      }
      if (counter.pending > 0) batch.push({ id, counter, amount: counter.pending });
    }
    if (batch.length === 0) return true;
    const ttl = (window + 1) * WINDOW_MS - this.now() + 5_000;
    try {
      const totals = await Promise.all(
        batch.map((b) => this.redis.vigilQuotaIncrement(`${this.o.keyPrefix}${b.id}:${window}`, b.amount, ttl)),
      );
      batch.forEach((b, i) => {
        b.counter.pending -= b.amount;
        b.counter.remote = Number(totals[i]);
      });
      return true;
    } catch (error) {
      this.o.onSyncError?.();
      const now = this.now();
      if (now - this.lastErrorLog > 10_000) {
        this.lastErrorLog = now;
        this.o.logger.warn({ err: error }, 'rate-limit counts could not be added in Redis; limits hold per instance until it is back');
      }
      return false;
    }
  }
}

/** The 429 of a key over its quota, with the seconds until its window ends. */
export class KeyRateLimited extends ProtocolError {
  constructor(readonly retryAfterSeconds: number) {
    super('key_rate_limit', `rate limit exceeded for this key; retry in ${retryAfterSeconds} s`);
  }
}
