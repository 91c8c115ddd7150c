import { listAlerts, type Queryable } from '@vigil/db';
import { isoSql } from '../events/event-query';

/** A page row rendered by PostgreSQL: the alert's JSON (as toAlert shapes it) and its cursor position. */
export interface RenderedAlertRow {
  json: string;
  id: string;
  created_at_ms: number;
}

type AlertListFilter = Parameters<typeof listAlerts>[1];

/** The Alert object of the OpenAPI document, field for field as toAlert builds it, from an alerts row named `a`. */
const ALERT_JSON = `(select row_to_json(j) from (select a.id, a.project_id, a.rule_id, a.rule_version, a.rule_name, a.severity, a.status,
  a.title, a.summary, a.group_key, a.group_values, ${isoSql('a.window_start')} as window_start, ${isoSql('a.window_end')} as window_end,
  a.value, a.threshold, ${isoSql('a.first_seen')} as first_seen, ${isoSql('a.last_seen')} as last_seen, ${isoSql('a.detected_at')} as detected_at,
  a.tags, ${isoSql('a.created_at')} as created_at, ${isoSql('a.updated_at')} as updated_at, ${isoSql('a.acknowledged_at')} as acknowledged_at,
  a.acknowledged_by, ${isoSql('a.resolved_at')} as resolved_at, a.resolved_by) j)::text as json`;

/**
 * The page listAlerts reads, rendered to JSON by PostgreSQL for the list endpoint. The filtering and
 * ordering stay listAlerts' own: its one statement is taken as it is and wrapped, so the list endpoint
 * and every other reader of alerts select the same rows.
 */
export async function listAlertsRendered(db: Queryable, filter: AlertListFilter): Promise<RenderedAlertRow[]> {
  let statement: { text: string; values: unknown[] } | undefined;
  const capture = {
    async query(text: string, values: unknown[]) {
      statement = { text, values };
      return { rows: [], rowCount: 0 };
    },
  } as unknown as Queryable;
  await listAlerts(capture, filter);
  if (!statement) throw new Error('listAlerts issued no statement');
  const { rows } = await db.query<RenderedAlertRow>(
    `select a.id, (floor(extract(epoch from a.created_at) * 1000))::float8 as created_at_ms, ${ALERT_JSON}
       from (${statement.text}) a order by a.created_at desc, a.id desc`,
    statement.values,
  );
  return rows;
}

/** The keyset position of a rendered alert row (as alertPosition gives it for a stored alert). */
export const renderedAlertPosition = (r: RenderedAlertRow) => ({ timeUs: BigInt(r.created_at_ms) * 1000n, id: r.id });
