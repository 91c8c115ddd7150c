import { randomUUID } from 'node:crypto';

const HEX32 = /^[0-9a-fA-F]{32}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/**
 * Event ids are accepted as 32 hex digits or as a hyphenated UUID (both forms are valid in the
 * Sentry protocol) and always stored as 32 lowercase hex. Returns null for anything else.
 */
export function parseEventId(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  if (HEX32.test(value)) return value.toLowerCase();
  if (UUID.test(value)) return value.replaceAll('-', '').toLowerCase();
  return null;
}

export function generateEventId(): string {
  return randomUUID().replaceAll('-', '');
}
