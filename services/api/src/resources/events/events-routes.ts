import { z } from 'zod';
import type { ApiServices } from '../../api-app';
import { RenderedItems } from '../../http/envelope';
import { notFound } from '../../http/error-catalog';
import { cursorPage, cursorPosition } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { listReadKey } from '../../http/shared-reads';
import { checkTimeRange, scopeProjects } from '../list-filters';
import { organizationProjectIds } from '@vigil/db';
import { eventPosition, findEvent, queryEvents, queryEventsRendered, toEvent, toEventDetail } from './event-query';
import { eventDetailSchema, eventSchema, exportEventsQuery, listEventsQuery, type EventFilters } from './event-schemas';

const EXPORT_BATCH = 1000;

const eventParams = z.object({
  event_id: z
    .string()
    .regex(/^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/, 'expected an event id: 32 hex digits')
    .meta({ description: 'The event id: 32 hex digits (a UUID with dashes is accepted too).' }),
});

/** Stored events (`event:read`): list with filters and cursor pages, one by id, and an NDJSON export. */
export function eventRoutes(s: ApiServices): AnyRoute[] {
  const filtersOf = (q: EventFilters): EventFilters => ({ class: q.class, severity: q.severity, type: q.type, since: q.since, until: q.until, q: q.q });
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/events',
      operationId: 'listEvents',
      summary: 'List events, newest first',
      description: 'Cursor-paginated on (timestamp, id): pages stay stable while events keep arriving.',
      tag: 'events',
      auth: { scope: 'event:read' },
      query: listEventsQuery,
      response: { kind: 'cursor', data: eventSchema },
      errors: ['not_found'],
      handler: async ({ principal, query }) => {
        checkTimeRange(query.since, query.until);
        const after = cursorPosition('events', query.after);
        return s.sharedReads.run(listReadKey('events', principal.organizationId, query), async () => {
          const projects = await scopeProjects(s.pool, principal.organizationId, query.project);
          const rows = await queryEventsRendered(s.pool, projects, filtersOf(query), after, query.limit + 1);
          const page = cursorPage('events', rows, query.limit, eventPosition);
          return { items: new RenderedItems(page.items.map((r) => r.json)), pagination: page.pagination };
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/events/export',
      operationId: 'exportEvents',
      summary: 'Export events as NDJSON',
      description:
        'Every event matching the filters, newest first, one JSON object per line, streamed in batches ' +
        '(the server holds one batch at a time, whatever the size of the export).',
      tag: 'events',
      auth: { scope: 'event:read' },
      query: exportEventsQuery,
      response: { kind: 'ndjson', data: eventSchema },
      errors: ['not_found'],
      handler: async ({ principal, query }) => {
        checkTimeRange(query.since, query.until);
        const projects = await scopeProjects(s.pool, principal.organizationId, query.project);
        const filters = filtersOf(query);
        const max = query.limit ?? Number.POSITIVE_INFINITY;
        const rowsExported = s.metrics.exportRows.labels({ resource: 'events' });
        return (async function* () {
          let after: ReturnType<typeof eventPosition> | null = null;
          let sent = 0;
          while (sent < max) {
            const want = Math.min(EXPORT_BATCH, max - sent);
            const batch = await queryEvents(s.pool, projects, filters, after, want);
            for (const row of batch) yield toEvent(row);
            sent += batch.length;
            rowsExported.inc(batch.length);
            if (batch.length < want) break;
            after = eventPosition(batch[batch.length - 1]!);
          }
        })();
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/events/{event_id}',
      operationId: 'getEvent',
      summary: 'Get an event with its raw payload',
      tag: 'events',
      auth: { scope: 'event:read' },
      params: eventParams,
      response: { kind: 'item', data: eventDetailSchema },
      handler: async ({ principal, params }) => {
        const projects = await organizationProjectIds(s.pool, principal.organizationId);
        const row = await findEvent(s.pool, projects, params.event_id.toLowerCase());
        if (!row) throw notFound(`event ${params.event_id}`);
        return toEventDetail(row);
      },
    }),
  ];
}
