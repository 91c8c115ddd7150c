import { ApiError } from './error-catalog';

/**
 * Opaque keyset cursors on (time, id): the position after the last row of a page. Rows are ordered
 * newest first by (time, id), so rows added later (newer) never shift a page already read, and rows
 * with equal times are split by id without gaps or repeats. The cursor names its resource, so one
 * issued by /v1/events is refused by /v1/alerts.
 */
export interface CursorPosition {
  /** Microseconds since the epoch (exact for PostgreSQL timestamptz). */
  timeUs: bigint;
  id: string;
}

export function encodeCursor(kind: string, position: CursorPosition): string {
  return Buffer.from(`${kind}|${position.timeUs}|${position.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(kind: string, cursor: string, field = 'after'): CursorPosition {
  const refuse = () => new ApiError('validation_error', undefined, [{ field, message: 'not a cursor issued by this endpoint: pass next_cursor of the previous page' }]);
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) throw refuse();
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (parts.length !== 3 || parts[0] !== kind || !/^-?\d{1,19}$/.test(parts[1]!) || !parts[2] || parts[2].length > 200) throw refuse();
  return { timeUs: BigInt(parts[1]!), id: parts[2] };
}
