import { acknowledgeAlert, AlertStateError, getAlert, listAlertEvents, resolveAlert, type StoredAlert } from '@vigil/db';
import { z } from 'zod';
import type { ApiServices } from '../../api-app';
import { RenderedItems } from '../../http/envelope';
import { conflict, notFound } from '../../http/error-catalog';
import { cursorPage, cursorPosition } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { listReadKey } from '../../http/shared-reads';
import { checkTimeRange } from '../list-filters';
import { requireProject } from '../projects/project-lookup';
import { listAlertsRendered, renderedAlertPosition } from './alert-page';
import { alertDetailSchema, alertSchema, listAlertsQuery, toAlert } from './alert-schemas';

const alertParams = z.object({ alert_id: z.string().regex(/^[0-9a-f]{32}$/, 'expected an alert id: 32 hex digits') });

/**
 * Alerts (`alerts:read`, `alerts:write`). Acknowledging and resolving record who (the token's name)
 * and when, and queue `alert.updated` / `alert.resolved` in the same transaction; the rule workers
 * publish them to the alerts topic, from where webhooks receive them.
 */
export function alertRoutes(s: ApiServices): AnyRoute[] {
  const detail = async (organizationId: number, alert: StoredAlert) => {
    const events = await listAlertEvents(s.pool, organizationId, alert.id);
    return {
      ...toAlert(alert),
      evidence: alert.evidence,
      events: events.map((e) => ({ type: e.event_type, at: new Date(e.record.updated_at_ms).toISOString(), actor: e.record.actor, published: e.published_at !== null })),
    };
  };
  const transition = (action: 'acknowledge' | 'resolve') =>
    defineRoute({
      method: 'POST',
      path: `/v1/alerts/{alert_id}/${action}`,
      operationId: `${action}Alert`,
      summary: action === 'acknowledge' ? 'Acknowledge an alert (publishes alert.updated)' : 'Resolve an alert (publishes alert.resolved)',
      description:
        action === 'acknowledge'
          ? 'An acknowledged alert is returned unchanged; a resolved one cannot be acknowledged (409).'
          : 'Open and acknowledged alerts can be resolved; a resolved alert is returned unchanged.',
      tag: 'alerts',
      auth: { scope: 'alerts:write' },
      params: alertParams,
      response: { kind: 'item', data: alertDetailSchema },
      errors: action === 'acknowledge' ? ['conflict'] : [],
      handler: async ({ principal, params }) => {
        const change = action === 'acknowledge' ? acknowledgeAlert : resolveAlert;
        try {
          const result = await change(s.pool, principal.organizationId, params.alert_id, principal.tokenName);
          if (!result) throw notFound(`alert ${params.alert_id}`);
          s.sharedReads.startAfterWrite('alerts', principal.organizationId);
          return detail(principal.organizationId, result.alert);
        } catch (err) {
          if (err instanceof AlertStateError) throw conflict(`alert ${params.alert_id} is ${err.status}`);
          throw err;
        }
      },
    });
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/alerts',
      operationId: 'listAlerts',
      summary: 'List alerts, newest first',
      tag: 'alerts',
      auth: { scope: 'alerts:read' },
      query: listAlertsQuery,
      response: { kind: 'cursor', data: alertSchema },
      errors: ['not_found'],
      handler: async ({ principal, query }) => {
        checkTimeRange(query.since, query.until);
        const after = cursorPosition('alerts', query.after);
        return s.sharedReads.run(listReadKey('alerts', principal.organizationId, query), async () => {
          const projectIds = query.project === undefined ? undefined : [(await requireProject(s.pool, principal.organizationId, query.project)).id];
          const rows = await listAlertsRendered(s.pool, {
            organizationId: principal.organizationId,
            projectIds,
            status: query.status,
            severity: query.severity,
            ruleId: query.rule,
            since: query.since,
            until: query.until,
            ...(after ? { after } : {}),
            limit: query.limit + 1,
          });
          const page = cursorPage('alerts', rows, query.limit, renderedAlertPosition);
          return { items: new RenderedItems(page.items.map((r) => r.json)), pagination: page.pagination };
        });
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/alerts/{alert_id}',
      operationId: 'getAlert',
      summary: 'Get an alert with its evidence and history',
      tag: 'alerts',
      auth: { scope: 'alerts:read' },
      params: alertParams,
      response: { kind: 'item', data: alertDetailSchema },
      handler: async ({ principal, params }) => {
        const alert = await getAlert(s.pool, principal.organizationId, params.alert_id);
        if (!alert) throw notFound(`alert ${params.alert_id}`);
        return detail(principal.organizationId, alert);
      },
    }),
    transition('acknowledge'),
    transition('resolve'),
  ];
}
