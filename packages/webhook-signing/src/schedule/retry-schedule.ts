import { parseDuration, type Duration } from './duration';

/**
 * When to try a message again. The default follows Svix's published schedule: after the first
 * attempt fails, wait 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (eight attempts over about
 * 27.5 hours), each delay spread by ±20% so that endpoints that failed together do not all
 * retry in the same second. Tests and local development compress it.
 */
export const DEFAULT_RETRY_DELAYS: readonly Duration[] = ['5s', '5m', '30m', '2h', '5h', '10h', '10h'];
export const DEFAULT_JITTER = 0.2;

export interface RetryScheduleOptions {
  /** Delay before attempt 2, 3, …; milliseconds or strings such as `5s`. */
  delays?: readonly Duration[];
  /** Fraction by which each delay is spread either way, 0 ≤ jitter < 1. Default 0.2. */
  jitter?: number;
  /** Uniform source in [0, 1); injected by tests. Defaults to Math.random. */
  random?: () => number;
}

export interface NextDelayOptions {
  /** The receiver's bounded Retry-After, in ms; the next attempt is never sooner than this. */
  retryAfterMs?: number;
}

export interface RetrySchedule {
  readonly delaysMs: readonly number[];
  readonly jitter: number;
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  /**
   * The wait after attempt number `attempt` (1 = the first attempt) failed, or null when that was
   * the last attempt and the message is dead.
   */
  nextDelay(attempt: number, options?: NextDelayOptions): number | null;
}

export function createRetrySchedule(options: RetryScheduleOptions = {}): RetrySchedule {
  const delaysMs = Object.freeze((options.delays ?? DEFAULT_RETRY_DELAYS).map(parseDuration));
  const jitter = options.jitter ?? DEFAULT_JITTER;
  if (!(jitter >= 0 && jitter < 1)) throw new RangeError('jitter must be at least 0 and below 1');
  const random = options.random ?? Math.random;
  return {
    delaysMs,
    jitter,
    maxAttempts: delaysMs.length + 1,
    nextDelay(attempt, next = {}) {
      if (!Number.isInteger(attempt) || attempt < 1) throw new RangeError('attempt must be a positive integer');
      const base = delaysMs[attempt - 1];
      if (base === undefined) return null;
      const r = random();
      const spread = Math.min(Math.max(r, 0), 1) * 2 - 1; // -1 … 1
      const delay = Math.round(base * (1 + jitter * spread));
      return Math.max(delay, next.retryAfterMs ?? 0);
    },
  };
}
