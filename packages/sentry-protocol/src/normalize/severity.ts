import { isEventClass, type EventClass, type Severity } from '../record';

/** Sentry levels, with the aliases and Python logging numbers Relay accepts. */
export type SentryLevel = 'fatal' | 'error' | 'warning' | 'info' | 'debug';

const LEVEL_NAMES: Readonly<Record<string, SentryLevel>> = {
  debug: 'debug',
  info: 'info',
  log: 'info',
  warning: 'warning',
  warn: 'warning',
  error: 'error',
  fatal: 'fatal',
  critical: 'fatal',
};

const LEVEL_NUMBERS: Readonly<Record<number, SentryLevel>> = {
  10: 'debug',
  20: 'info',
  30: 'warning',
  40: 'error',
  50: 'fatal',
};

export const LEVEL_SEVERITY: Readonly<Record<SentryLevel, Severity>> = {
  fatal: 'critical',
  error: 'high',
  warning: 'medium',
  info: 'low',
  debug: 'info',
};

export function parseLevel(value: unknown): SentryLevel | null {
  if (typeof value === 'string') {
    const key = value.trim().toLowerCase();
    return Object.hasOwn(LEVEL_NAMES, key) ? (LEVEL_NAMES[key] as SentryLevel) : null;
  }
  if (typeof value === 'number') return LEVEL_NUMBERS[value] ?? null;
  return null;
}

/**
 * Severity of a Sentry event. A missing or unknown level follows Relay's default: `error` (high)
 * for every event except transactions, which default to `info` (low).
 */
export function severityFromLevel(value: unknown, isTransaction: boolean): Severity {
  const level = parseLevel(value) ?? (isTransaction ? 'info' : 'error');
  return LEVEL_SEVERITY[level];
}

/** Tag with which a Sentry SDK user files an event under another class than `error`. */
export const CLASS_TAG = 'vigil.class';

export function classFromTags(tags: Readonly<Record<string, string>>): EventClass {
  const value = tags[CLASS_TAG]?.trim().toLowerCase();
  return isEventClass(value) ? value : 'error';
}
