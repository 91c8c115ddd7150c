import type { ApiServices } from '../../api-app';
import { RenderedItems } from '../../http/envelope';
import { cursorPage, cursorPosition } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { listReadKey } from '../../http/shared-reads';
import { checkTimeRange, scopeProjects, type ProjectScope } from '../list-filters';
import { RollupCache } from './rollup-cache';
import { flowPosition, minuteWindow, PROTOCOL_NAMES, queryFlowsRendered, queryProtocols, queryTopTalkers } from './flow-query';
import { flowSchema, listFlowsQuery, protocolsQuery, protocolsSchema, topTalkersQuery, topTalkersSchema } from './flow-schemas';

const HOUR_MS = 3_600_000;

/** The minutes a rollup view covers: since/until when given, else the `window` (default 1 h) ending now. */
function rollupWindow(q: { since?: Date; until?: Date; window?: number }) {
  checkTimeRange(q.since, q.until);
  const until = q.until ?? new Date();
  const since = q.since ?? new Date(until.getTime() - (q.window ?? HOUR_MS));
  return minuteWindow(since, until);
}

/** Flow records (`event:read`): filtered cursor pages, and top talkers and protocols from the hourly and one-minute rollups. */
export function flowRoutes(s: ApiServices): AnyRoute[] {
  const onLookup = (result: 'hit' | 'miss') => s.metrics.rollupCache.inc({ result });
  const talkersCache = new RollupCache<Awaited<ReturnType<typeof queryTopTalkers>>>(s.rollupCacheTtlMs, 1000, onLookup);
  const protocolsCache = new RollupCache<Awaited<ReturnType<typeof queryProtocols>>>(s.rollupCacheTtlMs, 1000, onLookup);
  const keyOf = (projects: ProjectScope, w: { since: Date; until: Date }, ...rest: unknown[]) =>
    JSON.stringify([projects, w.since.getTime(), w.until.getTime(), ...rest]);
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/flows',
      operationId: 'listFlows',
      summary: 'List flow records, newest (by flow end) first',
      tag: 'flows',
      auth: { scope: 'event:read' },
      query: listFlowsQuery,
      response: { kind: 'cursor', data: flowSchema },
      errors: ['not_found'],
      handler: async ({ principal, query }) => {
        checkTimeRange(query.since, query.until);
        const after = cursorPosition('flows', query.after);
        return s.sharedReads.run(listReadKey('flows', principal.organizationId, query), async () => {
          const projects = await scopeProjects(s.pool, principal.organizationId, query.project);
          const { exporter, src, dst, port, protocol, since, until } = query;
          const rows = await queryFlowsRendered(s.pool, projects, { exporter, src, dst, port, protocol, since, until }, after, query.limit + 1);
          const page = cursorPage('flows', rows, query.limit, flowPosition);
          return { items: new RenderedItems(page.items.map((r) => r.json)), pagination: page.pagination };
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/flows/top-talkers',
      operationId: 'topTalkers',
      summary: 'Top sources, destinations or pairs by bytes, packets or flows',
      description:
        'Summed from the rollups over whole minutes (whole UTC hours from the hourly rollups, the minutes at the edges from the ' +
        'one-minute rollups); a biflow counts as two directed flows.',
      tag: 'flows',
      auth: { scope: 'event:read' },
      query: topTalkersQuery,
      response: { kind: 'item', data: topTalkersSchema },
      errors: ['not_found'],
      handler: async ({ principal, query }) => {
        const window = rollupWindow(query);
        const projects = await scopeProjects(s.pool, principal.organizationId, query.project);
        const talkers = await talkersCache.get(keyOf(projects, window, query.by, query.metric, query.limit), () =>
          queryTopTalkers(s.pool, projects, window, query.by, query.metric, query.limit),
        );
        return { by: query.by, metric: query.metric, since: window.since.toISOString(), until: window.until.toISOString(), talkers };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/flows/protocols',
      operationId: 'flowProtocols',
      summary: 'Traffic per IP protocol',
      description: 'Summed from the rollups over whole minutes (hourly rollups for whole UTC hours, one-minute rollups at the edges), largest first.',
      tag: 'flows',
      auth: { scope: 'event:read' },
      query: protocolsQuery,
      response: { kind: 'item', data: protocolsSchema },
      errors: ['not_found'],
      handler: async ({ principal, query }) => {
        const window = rollupWindow(query);
        const projects = await scopeProjects(s.pool, principal.organizationId, query.project);
        const rows = await protocolsCache.get(keyOf(projects, window, query.metric), () => queryProtocols(s.pool, projects, window, query.metric));
        const total = rows.reduce((sum, r) => sum + r[query.metric], 0);
        return {
          metric: query.metric,
          since: window.since.toISOString(),
          until: window.until.toISOString(),
          protocols: rows.map((r) => ({ ...r, name: PROTOCOL_NAMES[r.protocol] ?? null, share: total > 0 ? r[query.metric] / total : 0 })),
        };
      },
    }),
  ];
}
