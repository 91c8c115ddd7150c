import { z } from 'zod';
import type { CursorPagination, PagePagination } from './envelope';
import { decodeCursor, encodeCursor, type CursorPosition } from './cursor';

export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

/** `?page=&per_page=`: the query parameters of page-paginated lists. */
export const pageQuery = {
  page: z.coerce.number().int().min(1).max(1_000_000).default(1).meta({ description: 'Page number, from 1.' }),
  per_page: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).meta({ description: 'Items per page (at most 200).' }),
};

/** `?after=&limit=`: the query parameters of cursor-paginated lists. */
export const cursorQuery = {
  after: z.string().min(1).max(400).optional().meta({ description: '`next_cursor` of the previous page; omit for the first page.' }),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE).meta({ description: 'Items per page (at most 200).' }),
};

export interface PageRequest {
  page: number;
  per_page: number;
}

export const pageOffset = (q: PageRequest) => ({ limit: q.per_page, offset: (q.page - 1) * q.per_page });

export function pagePagination(q: PageRequest, total: number): PagePagination {
  return { total, page: q.page, per_page: q.per_page, total_pages: Math.ceil(total / q.per_page) };
}

/**
 * A keyset page: the caller fetched `limit + 1` rows ordered by (time, id) descending; the extra row
 * only says that there is more.
 */
export function cursorPage<T>(
  kind: string,
  rows: T[],
  limit: number,
  positionOf: (row: T) => CursorPosition,
): { items: T[]; pagination: CursorPagination } {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return {
    items,
    pagination: { next_cursor: hasMore && last !== undefined ? encodeCursor(kind, positionOf(last)) : null, has_more: hasMore },
  };
}

export function cursorPosition(kind: string, after: string | undefined): CursorPosition | null {
  return after === undefined ? null : decodeCursor(kind, after);
}
