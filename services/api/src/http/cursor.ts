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

/**
 * The position's time as an RFC 3339 text with all six decimals, for a `timestamptz` query parameter:
 * a plain parameter (not an expression over one), so PostgreSQL prunes the partitions newer than a
 * deep page's cursor when it plans the query instead of planning every one of them.
 */
export function positionTimestamp(timeUs: bigint): string {
  const seconds = timeUs >= 0n ? timeUs / 1_000_000n : -((-timeUs + 999_999n) / 1_000_000n);
  const micros = timeUs - seconds * 1_000_000n;
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}.${micros.toString().padStart(6, '0')}Z`;
}
