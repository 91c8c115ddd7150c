/** Durations in rules are written as an integer and one unit: `500ms`, `30s`, `5m`, `1h`, `7d`, `1w`. */

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const PATTERN = /^(\d+)(ms|s|m|h|d|w)$/;

/** Milliseconds in `text`, or null when it is not a duration. */
export function parseDuration(text: string): number | null {
  const m = PATTERN.exec(text.trim());
  if (m === null) return null;
  const ms = Number(m[1]) * (UNITS[m[2] as string] as number);
  return Number.isSafeInteger(ms) ? ms : null;
}

/** The shortest exact spelling of `ms` (`300000` → `5m`). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNITS[unit] as number;
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
