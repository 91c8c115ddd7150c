/**
 * The `X-Sentry-Rate-Limits` header of a 429, which SDKs parse to stop sending for a while:
 * comma-separated `retry_after:categories:scope[:reason_code]`, categories `;`-separated and empty
 * for "everything". Category names are Sentry's (`error`, `transaction`, `session`, `attachment`,
 * `security`, `log_item`…), which is what SDKs match their item types against.
 */

export type RateLimitScope = 'key' | 'project' | 'organization';

export interface RateLimit {
  /** Seconds until the client may send again (rounded up, at least 1). */
  retryAfterSeconds: number;
  /** Sentry data categories the limit applies to; empty or absent means all. */
  categories?: readonly string[];
  scope: RateLimitScope;
  /** Machine-readable reason, e.g. `key_quota`. */
  reasonCode?: string;
}

const CATEGORY = /^[a-z_]+$/;
const REASON = /^[A-Za-z0-9_.-]+$/;

export function formatRateLimitHeader(limits: readonly RateLimit[]): string {
  return limits
    .map((limit) => {
      const seconds = Math.max(1, Math.ceil(limit.retryAfterSeconds));
      const categories = (limit.categories ?? []).filter((c) => CATEGORY.test(c)).join(';');
      const reason = limit.reasonCode !== undefined && REASON.test(limit.reasonCode) ? `:${limit.reasonCode}` : '';
      return `${seconds}:${categories}:${limit.scope}${reason}`;
    })
    .join(', ');
}

/** `Retry-After` for the same answer: the longest of the limits, in whole seconds. */
export function retryAfterSeconds(limits: readonly RateLimit[]): number {
  return limits.reduce((max, limit) => Math.max(max, Math.max(1, Math.ceil(limit.retryAfterSeconds))), 1);
}
