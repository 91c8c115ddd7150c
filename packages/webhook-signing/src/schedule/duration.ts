/**
 * Durations in configuration (`5s`, `5m`, `30m`, `2h`, `5d`, `250ms`) or as plain milliseconds.
 * Kept strict: one number and one unit, so a typo fails at start-up instead of becoming a 0 ms
 * retry delay.
 */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/;

export type Duration = number | string;

export function parseDuration(value: Duration): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`invalid duration: ${value}`);
    return Math.round(value);
  }
  const match = DURATION.exec(value.trim());
  if (!match) throw new RangeError(`invalid duration "${value}" (expected e.g. 500ms, 5s, 5m, 2h, 5d)`);
  const [, amount, unit] = match as unknown as [string, string, keyof typeof UNIT_MS];
  return Math.round(Number(amount) * UNIT_MS[unit]);
}
