import { CATEGORIES, type DataCategory } from '@vigil/sentry-protocol';
import type { ItemCount } from './endpoint';

/**
 * Client reports: SDKs tell what they dropped before sending (sampling, full queues, rate-limit
 * back-off, `beforeSend`), and Relay counts those as the `client_discard` outcome. Reasons become
 * metric labels, so only short snake_case ones are kept (others count as `other`); Sentry's
 * category names are mapped to Vigil's. A malformed report is not an error: it only reports.
 */
const SENTRY_CATEGORIES: Readonly<Record<string, DataCategory>> = {
  default: 'error',
  log_item: 'log',
  log_byte: 'log',
  feedback: 'user_report',
  profile_chunk: 'profile',
  replay_video: 'replay',
};
const KNOWN: ReadonlySet<string> = new Set(CATEGORIES);
const REASON = /^[a-z][a-z_]{0,39}$/;
const MAX_ENTRIES = 100;

export function clientDiscards(payload: Buffer): Array<ItemCount & { reason: string }> {
  let report: unknown;
  try {
    report = JSON.parse(payload.toString('utf8'));
  } catch {
    return [];
  }
  const entries = (report as { discarded_events?: unknown } | null)?.discarded_events;
  if (!Array.isArray(entries)) return [];
  const out: Array<ItemCount & { reason: string }> = [];
  for (const entry of entries.slice(0, MAX_ENTRIES)) {
    const { reason, category, quantity } = (entry ?? {}) as Record<string, unknown>;
    if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity <= 0 || quantity > 1e9) continue;
    out.push({
      reason: typeof reason === 'string' && REASON.test(reason) ? reason : 'other',
      category: categoryOf(category),
      quantity,
    });
  }
  return out;
}

function categoryOf(value: unknown): DataCategory {
  if (typeof value !== 'string') return 'unknown';
  if (Object.hasOwn(SENTRY_CATEGORIES, value)) return SENTRY_CATEGORIES[value] as DataCategory;
  return KNOWN.has(value) ? (value as DataCategory) : 'unknown';
}
