import { z } from 'zod';
import { ERROR_CODES, type ErrorCode, type ErrorDetail } from './error-catalog';

/**
 * The response envelope of CONTRACT.md §6: `{data, meta, pagination?}` on success, `{error, meta}` on
 * failure. The zod schemas document it in OpenAPI; the functions write it.
 */
export const requestIdSchema = z.string().regex(/^req_[0-9A-Za-z]{20}$/).meta({ description: 'Also sent as the X-Request-Id header and written on every log line of the request.' });

export const metaSchema = z
  .object({ request_id: requestIdSchema, timestamp: z.iso.datetime().meta({ description: 'When the response was produced.' }) })
  .meta({ id: 'Meta' });

export const pagePaginationSchema = z
  .object({
    total: z.number().int().min(0),
    page: z.number().int().min(1),
    per_page: z.number().int().min(1).max(200),
    total_pages: z.number().int().min(0),
  })
  .meta({ id: 'PagePagination', description: 'Page-based: `?page=&per_page=` (at most 200). A page past the last one is empty.' });

export const cursorPaginationSchema = z
  .object({
    next_cursor: z.string().nullable().meta({ description: 'Pass as `after` for the next page; null on the last page.' }),
    has_more: z.boolean(),
  })
  .meta({ id: 'CursorPagination', description: 'Cursor-based: `?after=&limit=`; stable while rows are being added.' });

export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.array(z.object({ field: z.string(), message: z.string() })),
    }),
    meta: z.object({ request_id: requestIdSchema }),
  })
  .meta({ id: 'Error' });

export type PagePagination = z.infer<typeof pagePaginationSchema>;
export type CursorPagination = z.infer<typeof cursorPaginationSchema>;

/**
 * List items PostgreSQL already rendered as JSON (each text one JSON object, in the shape the OpenAPI
 * document declares): the envelope splices them in as they are, so a page of rows is not parsed into
 * JavaScript values and serialised again.
 */
export class RenderedItems {
  private joined: string | undefined;

  constructor(readonly texts: readonly string[]) {}

  /** The items as one JSON array (joined once: requests sharing a read send the same text). */
  get json(): string {
    return (this.joined ??= `[${this.texts.join(',')}]`);
  }

  get length(): number {
    return this.texts.length;
  }
}

export function successBody(requestId: string, data: unknown, pagination?: PagePagination | CursorPagination): string {
  const meta = { request_id: requestId, timestamp: new Date().toISOString() };
  if (data instanceof RenderedItems) {
    const tail = pagination === undefined ? '' : `,"pagination":${JSON.stringify(pagination)}`;
    return `{"data":${data.json},"meta":${JSON.stringify(meta)}${tail}}`;
  }
  return JSON.stringify(pagination === undefined ? { data, meta } : { data, meta, pagination });
}

export function errorBody(requestId: string, code: ErrorCode, message: string, details: ErrorDetail[]): string {
  return JSON.stringify({ error: { code, message, details }, meta: { request_id: requestId } });
}
