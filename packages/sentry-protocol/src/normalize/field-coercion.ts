/**
 * How loosely typed JSON from SDKs becomes the record's strings: which primitive values count as
 * text, and how over-long text is cut (never inside a UTF-16 surrogate pair, with Relay's `...`).
 */

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own property of a JSON object, or undefined (never reads the prototype chain). */
export function field(value: unknown, key: string): unknown {
  return isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** Strings as they are; finite numbers and booleans as their JSON text; anything else null. */
export function primitiveText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return String(value);
  return null;
}

/** Trimmed non-empty text, or null. */
export function nonEmptyText(value: unknown): string | null {
  const text = primitiveText(value)?.trim();
  return text === undefined || text === '' ? null : text;
}

/** Cuts text to at most `max` UTF-16 units, ending in `...` when cut. */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 3);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}...`;
}
