import type { Redis } from 'ioredis';

/**
 * Per-subject request limits in Redis with a sliding window counter: the count of the current
 * one-minute window plus the previous window's count weighted by how much of it still overlaps the
 * last 60 s. Two integers per subject, shared by every API instance (windows on Redis's clock), and
 * no burst of 2× the limit at window edges as a fixed window allows.
 *
 * A subject's request goes to Redis (a Lua script that counts it if it fits) when this instance
 * knows nothing recent about the subject or when it is near its limit, so the limit itself is exact
 * across instances. Far from the limit — at least `HEADROOM` (10 % of the limit, at least 100
 * requests) away, with the counts read from Redis less than `FRESH_MS` ago — the request is counted
 * here and the counts are added in Redis in the background, at most one round trip per
 * `syncIntervalMs` (20 ms) for all the requests counted meanwhile, which also brings back what other
 * instances counted. A busy token so costs one Redis round trip per interval instead of one per
 * request; X-RateLimit-Remaining may then not yet include what other instances counted in the last
 * interval.
 *
 * The script also answers whether the token was revoked through another API instance (a marker key
 * written on revocation). Revocations are also published on a Redis channel every instance listens
 * to, which drops what it knew of the token, so its next request goes to Redis and sees the marker;
 * while the subscription is not established, every request goes to Redis.
 */
export const WINDOW_MS = 60_000;

const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then
  return {-1, 0, 0, now}
end
local start = now - (now % window)
local cur_key = KEYS[1] .. ':' .. start
local prev = tonumber(redis.call('GET', KEYS[1] .. ':' .. (start - window)) or '0')
local cur = tonumber(redis.call('GET', cur_key) or '0')
local elapsed = now - start
if prev * (window - elapsed) / window + cur + 1 > limit then
  return {0, prev, cur, now}
end
cur = redis.call('INCR', cur_key)
if cur == 1 then redis.call('PEXPIRE', cur_key, window * 2 + 1000) end
return {1, prev, cur, now}
`;

export interface RateDecision {
  allowed: boolean;
  /** The token was revoked (seen through the revocation marker). */
  revoked: boolean;
  limit: number;
  remaining: number;
  /** Epoch seconds at which the current window ends. */
  resetAt: number;
  /** Seconds until a request would be allowed again (only when refused). */
  retryAfter: number;
}

type Reply = [number, number, number, number];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    vigilSlidingWindow(counterKey: string, revokedKey: string, limit: number, windowMs: number, checkRevoked: string): Promise<Reply>;
  }
}

/** Adds what one instance counted to a window's counter; answers the totals and the revocation marker. */
const ADD_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local start = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cur = redis.call('INCRBY', KEYS[1] .. ':' .. start, ARGV[3])
if cur == tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1] .. ':' .. start, window * 2 + 1000) end
local prev = tonumber(redis.call('GET', KEYS[1] .. ':' .. (start - window)) or '0')
local revoked = 0
if ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then revoked = 1 end
return {revoked, prev, cur, now}
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    vigilSlidingWindowAdd(counterKey: string, revokedKey: string, windowStart: number, windowMs: number, amount: number, checkRevoked: string): Promise<Reply>;
  }
}

/** Counts read from Redis are used for local decisions for this long. */
export const FRESH_MS = 1000;

/** How far from its limit a subject must be for its requests to be counted locally. */
export function headroom(limit: number): number {
  return Math.max(100, Math.ceil(limit / 10));
}

/** What this instance knows of a subject's current window. */
interface Known {
  /** Start of the window (Redis's clock), ms. */
  start: number;
  prev: number;
  /** The window's count in Redis, as of `syncedAt`. */
  remote: number;
  /** Counted here, not yet added in Redis. */
  pending: number;
  /** Local time at which `remote` and `prev` were read (sent, for background additions). */
  syncedAt: number;
  /** Counts read at or before this time are not used (a revocation was announced then). */
  distrustedAt: number;
  revocationOf: string | undefined;
}

export interface SlidingWindowOptions {
  /** Least time between two background round trips (default 20 ms). */
  syncIntervalMs?: number;
  /** Called when a background addition fails (the counts stay pending and are sent again). */
  onSyncError?: (err: unknown) => void;
}

const defined = new WeakSet<Redis>();
const RETRY_MS = 1000;
const MAX_SUBJECTS = 100_000;

export class SlidingWindowLimiter {
  private readonly known = new Map<string, Known>();
  private readonly syncIntervalMs: number;
  private subscriber: Redis | null = null;
  /** True while the revocation channel is subscribed: local decisions need it. */
  private listening = false;
  /** Counts read before the subscription (re)started may predate a missed revocation. */
  private listeningSince = Number.POSITIVE_INFINITY;
  private syncing = false;
  private timer: NodeJS.Timeout | null = null;
  private lastSync = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly o: SlidingWindowOptions = {},
  ) {
    this.syncIntervalMs = o.syncIntervalMs ?? 20;
    if (!defined.has(redis)) {
      redis.defineCommand('vigilSlidingWindow', { numberOfKeys: 2, lua: SCRIPT });
      redis.defineCommand('vigilSlidingWindowAdd', { numberOfKeys: 2, lua: ADD_SCRIPT });
      defined.add(redis);
    }
  }

  /**
   * Subscribes to revocations on a connection of its own (reconnecting as ioredis does); until the
   * subscription is established, and whenever it is lost, every request is decided in Redis.
   */
  listen(): void {
    if (this.subscriber || this.closed) return;
    const sub = this.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber = sub;
    const lost = () => {
      this.listening = false;
      this.listeningSince = Number.POSITIVE_INFINITY;
    };
    sub.on('error', () => undefined);
    sub.on('close', lost);
    sub.on('ready', () => {
      const since = Date.now();
      sub.subscribe(this.channel()).then(
        () => {
          // Revocations published while it was not subscribed were missed: only counts read from now on are used.
          this.listeningSince = since;
          this.listening = sub.status === 'ready';
        },
        () => undefined,
      );
    });
    sub.on('message', (_channel: string, tokenId: string) => this.distrust(`token:${tokenId}`));
    sub.connect().catch(() => undefined);
  }

  /** Whether requests far from their limit are decided here (the revocation channel is subscribed). */
  get local(): boolean {
    return this.listening;
  }

  /** Counts one request of `subject` (e.g. `token:<id>` or `ip:<addr>`) if it fits under `limit`. */
  async take(subject: string, limit: number, revocationOf?: string): Promise<RateDecision> {
    const local = this.takeLocally(subject, limit, Date.now());
    if (local) return local;
    const counterKey = this.counterKey(subject);
    const revokedKey = revocationOf ? this.revokedKey(revocationOf) : counterKey;
    const sentAt = Date.now();
    const [verdict, prev, cur, now] = await this.redis.vigilSlidingWindow(counterKey, revokedKey, limit, WINDOW_MS, revocationOf ? '1' : '0');
    if (verdict === -1) this.known.delete(subject);
    else this.remember(subject, now - (now % WINDOW_MS), prev, cur, sentAt, revocationOf);
    return decide(verdict, prev, cur, now, limit);
  }

  /** Marks a token revoked for every API instance for `ttlMs` (longer than any instance caches a token). */
  async markRevoked(tokenId: string, ttlMs: number): Promise<void> {
    this.distrust(`token:${tokenId}`);
    await this.redis.set(this.revokedKey(tokenId), '1', 'PX', Math.max(1000, Math.ceil(ttlMs)));
    await this.redis.publish(this.channel(), tokenId);
  }

  /** Sends what was counted here and stops listening (shutdown, tests). */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.lastSync = Number.NEGATIVE_INFINITY;
    await this.sync().catch(() => undefined);
    this.closed = true;
    this.listening = false;
    this.subscriber?.disconnect();
  }

  /** The decision when it can be made here (see the class comment), else null. */
  private takeLocally(subject: string, limit: number, now: number): RateDecision | null {
    if (!this.listening) return null;
    const k = this.known.get(subject);
    if (k === undefined) return null;
    const elapsed = now - k.start;
    if (elapsed < 0 || elapsed >= WINDOW_MS || now - k.syncedAt > FRESH_MS || k.syncedAt <= this.listeningSince || k.syncedAt <= k.distrustedAt) return null;
    const used = (k.prev * (WINDOW_MS - elapsed)) / WINDOW_MS + k.remote + k.pending + 1;
    if (used + headroom(limit) > limit) return null;
    k.pending += 1;
    this.scheduleSync();
    return { allowed: true, revoked: false, limit, remaining: Math.max(0, Math.floor(limit - used)), resetAt: Math.ceil((k.start + WINDOW_MS) / 1000), retryAfter: 0 };
  }

  private remember(subject: string, start: number, prev: number, remote: number, syncedAt: number, revocationOf: string | undefined): void {
    const k = this.known.get(subject);
    if (k !== undefined && k.start === start) {
      // Requests counted here meanwhile stay pending.
      k.prev = prev;
      k.remote = Math.max(k.remote, remote);
      k.syncedAt = syncedAt;
      return;
    }
    if (k !== undefined && k.pending > 0) return; // an older window's counts are still to be sent
    if (this.known.size >= MAX_SUBJECTS) this.prune(Date.now());
    this.known.set(subject, { start, prev, remote, pending: 0, syncedAt, distrustedAt: Number.NEGATIVE_INFINITY, revocationOf });
  }

  /** The subject's next request is decided in Redis (its counts still pending are still sent). */
  private distrust(subject: string): void {
    const k = this.known.get(subject);
    if (k !== undefined) k.distrustedAt = Date.now();
  }

  private prune(now: number): void {
    for (const [subject, k] of this.known) if (k.pending === 0 && now - k.syncedAt > FRESH_MS) this.known.delete(subject);
  }

  private scheduleSync(): void {
    if (this.syncing || this.timer || this.closed) return;
    const wait = this.lastSync + this.syncIntervalMs - Date.now();
    if (wait <= 0) {
      void this.sync();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.sync();
    }, wait);
    this.timer.unref();
  }

  /** One addition per subject with pending counts. */
  private async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    this.lastSync = Date.now();
    const batch: Array<{ subject: string; k: Known; amount: number }> = [];
    for (const [subject, k] of this.known) if (k.pending > 0) batch.push({ subject, k, amount: k.pending });
    let failed = false;
    try {
      await Promise.all(
        batch.map(async ({ subject, k, amount }) => {
          const sentAt = Date.now();
          const revokedKey = k.revocationOf ? this.revokedKey(k.revocationOf) : this.counterKey(subject);
          try {
            const [revoked, prev, cur] = await this.redis.vigilSlidingWindowAdd(this.counterKey(subject), revokedKey, k.start, WINDOW_MS, amount, k.revocationOf ? '1' : '0');
            k.pending -= amount;
            if (this.known.get(subject) !== k) return;
            if (revoked === 1) {
              // Its next request goes to Redis, which refuses it as revoked.
              this.known.delete(subject);
              return;
            }
            k.prev = prev;
            k.remote = cur;
            k.syncedAt = sentAt;
          } catch (err) {
            failed = true;
            this.o.onSyncError?.(err);
          }
        }),
      );
    } finally {
      this.syncing = false;
    }
    const now = Date.now();
    // Counts of finished windows that could not be sent are dropped with their subject.
    for (const [subject, k] of this.known) if (now - k.start >= 2 * WINDOW_MS) this.known.delete(subject);
    if (failed) this.lastSync = now + RETRY_MS - this.syncIntervalMs;
    for (const k of this.known.values()) {
      if (k.pending > 0) {
        this.scheduleSync();
        break;
      }
    }
  }

  private counterKey(subject: string) {
    return `${this.prefix}rl:{${subject}}`;
  }

  private revokedKey(tokenId: string) {
    return `${this.prefix}revoked:${tokenId}`;
  }

  private channel() {
    return `${this.prefix}revocations`;
  }
}

/** Turns the script's counts into headers' values; pure, so the arithmetic is tested alone. */
export function decide(verdict: number, prev: number, cur: number, now: number, limit: number): RateDecision {
  const start = now - (now % WINDOW_MS);
  const elapsed = now - start;
  const resetAt = Math.ceil((start + WINDOW_MS) / 1000);
  if (verdict === -1) return { allowed: false, revoked: true, limit, remaining: 0, resetAt, retryAfter: 0 };
  const used = (prev * (WINDOW_MS - elapsed)) / WINDOW_MS + cur;
  const remaining = Math.max(0, Math.floor(limit - used));
  if (verdict === 1) return { allowed: true, revoked: false, limit, remaining, resetAt, retryAfter: 0 };
  return { allowed: false, revoked: false, limit, remaining: 0, resetAt, retryAfter: retryAfterSeconds(prev, cur, elapsed, limit) };
}

/** The first moment one more request fits: later in this window as the previous one fades, or in the next. */
export function retryAfterSeconds(prev: number, cur: number, elapsed: number, limit: number): number {
  const w = WINDOW_MS;
  let waitMs: number;
  if (cur + 1 <= limit && prev > 0) {
    // prev * (w - elapsed - t) / w + cur + 1 <= limit
    const t = w - elapsed - ((limit - cur - 1) * w) / prev;
    waitMs = t < w - elapsed ? Math.max(0, t) : w - elapsed;
  } else {
    // In the next window this window's count fades: cur * (w - e) / w + 1 <= limit.
    const e = cur > 0 ? Math.max(0, w - ((limit - 1) * w) / cur) : 0;
    waitMs = w - elapsed + e;
  }
  return Math.max(1, Math.ceil(waitMs / 1000));
}
