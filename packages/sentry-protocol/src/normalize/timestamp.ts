/**
 * When an event happened. Sentry sends float epoch seconds or RFC 3339 strings; native senders may
 * also send epoch milliseconds. The result is corrected for client clock drift (as Relay does, using
 * the envelope's `sent_at`) and replaced by the receive time when it is absurd.
 */

export interface TimestampOptions {
  /** Timestamps further than this in the future become the receive time. Default 60 s (Relay). */
  maxFutureMs?: number;
  /** Timestamps older than this become the receive time; null disables. Default 30 days (Relay). */
  maxPastMs?: number | null;
}

export const DEFAULT_MAX_FUTURE_MS = 60_000;
export const DEFAULT_MAX_PAST_MS = 30 * 24 * 3600 * 1000;
/** Relay corrects timestamps only when the sender's clock is off by at least 55 minutes. */
const MIN_CLOCK_DRIFT_MS = 55 * 60 * 1000;

const ISO = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/i;
const NUMERIC = /^-?\d+(\.\d+)?$/;

/** Parses an RFC 3339 / ISO 8601 date-time; one without an offset is taken as UTC (as Relay). */
export function parseIsoTimestamp(text: string): number | null {
  const m = ISO.exec(text.trim());
  if (m === null) return null;
  const [, date, time, fraction = '', zone = 'Z'] = m;
  const millis = fraction === '' ? '' : fraction.slice(0, 4).padEnd(4, '0');
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${date}T${time}${millis}${offset}`);
  return Number.isFinite(ms) ? ms : null;
}

/** Sentry `timestamp`: float seconds (number or numeric string) or RFC 3339. Returns epoch ms. */
export function parseSentryTimestamp(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value * 1000 : null;
  if (typeof value !== 'string') return null;
  if (NUMERIC.test(value.trim())) return Number(value) * 1000;
  return parseIsoTimestamp(value);
}

/**
 * Native `timestamp`: RFC 3339, or an epoch number — seconds below 10^11 (year 5138), milliseconds
 * from there on (10^11 ms is March 1973), so both common epoch units are read correctly.
 */
export function parseNativeTimestamp(value: number | string): number | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    return Math.abs(value) < 1e11 ? value * 1000 : value;
  }
  return parseIsoTimestamp(value);
}

/**
 * Final event time in integer epoch ms: shifted by the client's clock drift when `sent_at` shows
 * one of 55 minutes or more, falling back to `receivedAtMs` when missing or out of bounds.
 */
export function resolveTimestamp(
  eventMs: number | null,
  receivedAtMs: number,
  sentAtMs: number | null,
  options: TimestampOptions = {},
): number {
  if (eventMs === null || !Number.isFinite(eventMs)) return receivedAtMs;
  let ms = eventMs;
  if (sentAtMs !== null) {
    const drift = receivedAtMs - sentAtMs;
    if (Math.abs(drift) >= MIN_CLOCK_DRIFT_MS) ms += drift;
  }
  const maxFuture = options.maxFutureMs ?? DEFAULT_MAX_FUTURE_MS;
  const maxPast = options.maxPastMs === undefined ? DEFAULT_MAX_PAST_MS : options.maxPastMs;
  if (ms > receivedAtMs + maxFuture) return receivedAtMs;
  if (maxPast !== null && ms < receivedAtMs - maxPast) return receivedAtMs;
  if (ms < 0) return receivedAtMs;
  return Math.round(ms);
}
