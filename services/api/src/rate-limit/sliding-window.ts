import type { Redis } from 'ioredis';

/**
 * Per-subject request limits in Redis with a sliding window counter: the count of the current
 * one-minute window plus the previous window's count weighted by how much of it still overlaps the
 * last 60 s. Two integers per subject, one round trip per request (a Lua script on Redis's clock, so
 * every API instance sees the same windows), and no burst of 2× the limit at window edges as a fixed
 * window allows.
 *
 * The same script answers whether the token was revoked through another API instance (a marker key
 * written on revocation), so revocation costs no extra round trip.
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

const defined = new WeakSet<Redis>();

export class SlidingWindowLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    if (!defined.has(redis)) {
      redis.defineCommand('vigilSlidingWindow', { numberOfKeys: 2, lua: SCRIPT });
      defined.add(redis);
    }
  }

  /** Counts one request of `subject` (e.g. `token:<id>` or `ip:<addr>`) if it fits under `limit`. */
  async take(subject: string, limit: number, revocationOf?: string): Promise<RateDecision> {
    const counterKey = `${this.prefix}rl:{${subject}}`;
    const revokedKey = revocationOf ? this.revokedKey(revocationOf) : counterKey;
    const [verdict, prev, cur, now] = await this.redis.vigilSlidingWindow(counterKey, revokedKey, limit, WINDOW_MS, revocationOf ? '1' : '0');
    return decide(verdict, prev, cur, now, limit);
  }

  /** Marks a token revoked for every API instance for `ttlMs` (longer than any instance caches a token). */
  async markRevoked(tokenId: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.revokedKey(tokenId), '1', 'PX', Math.max(1000, Math.ceil(ttlMs)));
  }

  private revokedKey(tokenId: string) {
    return `${this.prefix}revoked:${tokenId}`;
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
