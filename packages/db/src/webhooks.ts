import type { Queryable } from './pool';

/**
 * Webhook endpoints (CONTRACT.md §7). Every function that a tenant reaches through the API takes the
 * organization id, so an endpoint of another organization is simply not found. Secrets are generated
 * by the caller (`generateSecret` of @vigil/webhook-signing); the table refuses anything that is not
 * `whsec_` + base64.
 */
export const WEBHOOK_ALERT_TYPES = ['alert.created', 'alert.updated', 'alert.resolved'] as const;
export type WebhookAlertType = (typeof WEBHOOK_ALERT_TYPES)[number];
export type WebhookSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export type WebhookStatus = 'enabled' | 'disabled';
/** Why an endpoint is disabled: it answered 410, it failed continuously for the configured period, or a user did it. */
export type WebhookDisabledReason = 'endpoint_gone' | 'failing' | 'manual';

export const DEFAULT_ROTATION_GRACE_MS = 24 * 3600 * 1000;

export interface Webhook {
  id: string;
  organization_id: number;
  /** Only alerts of these projects; null = every project of the organization. */
  project_ids: number[] | null;
  url: string;
  description: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  /** Empty = every alert event type. */
  event_types: WebhookAlertType[];
  min_severity: WebhookSeverity | null;
  headers: Record<string, string>;
  status: WebhookStatus;
  disabled_reason: WebhookDisabledReason | null;
  disabled_message: string | null;
  disabled_at: Date | null;
  /** Failed attempts since the last success. */
  failure_count: number;
  /** Start of the current unbroken run of failures, null after a success. */
  first_failure_at: Date | null;
  last_failure_at: Date | null;
  last_success_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface WebhookInput {
  organizationId: number;
  url: string;
  secret: string;
  projectIds?: number[] | null;
  eventTypes?: WebhookAlertType[];
  minSeverity?: WebhookSeverity | null;
  headers?: Record<string, string>;
  description?: string;
}

export type WebhookPatch = Partial<Pick<WebhookInput, 'url' | 'projectIds' | 'eventTypes' | 'minSeverity' | 'headers' | 'description'>>;

// project_ids come back as text from bigint[] (pg has no array parser for int8 numbers): map them.
const COLUMNS = `id, organization_id, project_ids::int8[]::text[] as project_ids, url, description, secret, previous_secret,
  previous_secret_expires_at, event_types, min_severity, headers, status, disabled_reason, disabled_message, disabled_at,
  failure_count, first_failure_at, last_failure_at, last_success_at, created_at, updated_at`;

type Row = Omit<Webhook, 'project_ids'> & { project_ids: string[] | null };
const toWebhook = (row: Row): Webhook => ({ ...row, project_ids: row.project_ids === null ? null : row.project_ids.map(Number) });

export async function createWebhook(db: Queryable, input: WebhookInput): Promise<Webhook> {
  const { rows } = await db.query<Row>(
    `insert into webhooks (organization_id, url, secret, project_ids, event_types, min_severity, headers, description)
     values ($1, $2, $3, $4, $5, $6, $7, $8) returning ${COLUMNS}`,
    [
      input.organizationId,
      input.url,
      input.secret,
      input.projectIds?.length ? input.projectIds : null,
      dedupe(input.eventTypes ?? []),
      input.minSeverity ?? null,
      JSON.stringify(input.headers ?? {}),
      input.description ?? '',
    ],
  );
  return toWebhook(rows[0]!);
}

/** An endpoint of this organization, or null. */
export async function getWebhook(db: Queryable, organizationId: number, id: string): Promise<Webhook | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<Row>(`select ${COLUMNS} from webhooks where organization_id = $1 and id = $2`, [organizationId, id]);
  return rows[0] ? toWebhook(rows[0]) : null;
}

export interface WebhookPage {
  items: Webhook[];
  total: number;
}

/** The organization's endpoints, oldest first. */
export async function listWebhooks(
  db: Queryable,
  organizationId: number,
  page: { limit?: number; offset?: number; status?: WebhookStatus } = {},
): Promise<WebhookPage> {
  const status = page.status ?? null;
  const [{ rows }, count] = await Promise.all([
    db.query<Row>(
      `select ${COLUMNS} from webhooks where organization_id = $1 and ($2::text is null or status = $2)
       order by created_at, id limit $3 offset $4`,
      [organizationId, status, page.limit ?? 50, page.offset ?? 0],
    ),
    db.query<{ n: number }>('select count(*)::int as n from webhooks where organization_id = $1 and ($2::text is null or status = $2)', [
      organizationId,
      status,
    ]),
  ]);
  return { items: rows.map(toWebhook), total: count.rows[0]!.n };
}

/** Changes the given fields; returns the endpoint, or null when it does not exist in this organization. */
export async function updateWebhook(db: Queryable, organizationId: number, id: string, patch: WebhookPatch): Promise<Webhook | null> {
  if (!isUuid(id)) return null;
  const sets: string[] = [];
  const values: unknown[] = [organizationId, id];
  const set = (column: string, value: unknown) => {
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  };
  if (patch.url !== undefined) set('url', patch.url);
  if (patch.description !== undefined) set('description', patch.description);
  if (patch.projectIds !== undefined) set('project_ids', patch.projectIds?.length ? patch.projectIds : null);
  if (patch.eventTypes !== undefined) set('event_types', dedupe(patch.eventTypes));
  if (patch.minSeverity !== undefined) set('min_severity', patch.minSeverity);
  if (patch.headers !== undefined) set('headers', JSON.stringify(patch.headers));
  sets.push('updated_at = now()');
  const { rows } = await db.query<Row>(
    `update webhooks set ${sets.join(', ')} where organization_id = $1 and id = $2 returning ${COLUMNS}`,
    values,
  );
  return rows[0] ? toWebhook(rows[0]) : null;
}

/**
 * Replaces the secret and keeps the current one signing for `graceMs` (default 24 h), so receivers
 * can switch at their own pace. A second rotation within the grace period drops the oldest secret.
 */
export async function rotateWebhookSecret(
  db: Queryable,
  organizationId: number,
  id: string,
  newSecret: string,
  graceMs: number = DEFAULT_ROTATION_GRACE_MS,
): Promise<Webhook | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<Row>(
    `update webhooks set
       previous_secret = case when $4::float8 > 0 then secret end,
       previous_secret_expires_at = case when $4::float8 > 0 then now() + make_interval(secs => $4::float8 / 1000) end,
       secret = $3, updated_at = now()
     where organization_id = $1 and id = $2 returning ${COLUMNS}`,
    [organizationId, id, newSecret, graceMs],
  );
  return rows[0] ? toWebhook(rows[0]) : null;
}

/** Stops deliveries to the endpoint; pending messages fail with `endpoint_disabled` when their turn comes. */
export async function disableWebhook(
  db: Queryable,
  organizationId: number,
  id: string,
  reason: WebhookDisabledReason = 'manual',
  message = 'disabled by a user',
): Promise<Webhook | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<Row>(
    `update webhooks set status = 'disabled', disabled_reason = $3, disabled_message = $4,
       disabled_at = coalesce(disabled_at, now()), updated_at = now()
     where organization_id = $1 and id = $2 returning ${COLUMNS}`,
    [organizationId, id, reason, message],
  );
  return rows[0] ? toWebhook(rows[0]) : null;
}

/** Resumes deliveries and starts the failure period afresh. */
export async function enableWebhook(db: Queryable, organizationId: number, id: string): Promise<Webhook | null> {
  if (!isUuid(id)) return null;
  const { rows } = await db.query<Row>(
    `update webhooks set status = 'enabled', disabled_reason = null, disabled_message = null, disabled_at = null,
       failure_count = 0, first_failure_at = null, updated_at = now()
     where organization_id = $1 and id = $2 returning ${COLUMNS}`,
    [organizationId, id],
  );
  return rows[0] ? toWebhook(rows[0]) : null;
}

/** Deletes the endpoint with its messages and attempt log. */
export async function deleteWebhook(db: Queryable, organizationId: number, id: string): Promise<boolean> {
  if (!isUuid(id)) return false;
  const { rowCount } = await db.query('delete from webhooks where organization_id = $1 and id = $2', [organizationId, id]);
  return (rowCount ?? 0) > 0;
}

/** The secrets that sign now: the current one first, then the previous one while its grace period lasts. */
export function signingSecrets(
  webhook: Pick<Webhook, 'secret' | 'previous_secret' | 'previous_secret_expires_at'>,
  now: Date = new Date(),
): string[] {
  const previous = webhook.previous_secret;
  const until = webhook.previous_secret_expires_at;
  return previous && until && until.getTime() > now.getTime() ? [webhook.secret, previous] : [webhook.secret];
}

/** An enabled endpoint that may want alerts of a project, with the project it was matched for. */
export interface WebhookSubscription {
  project_id: number;
  organization_id: number;
  webhook_id: string;
  event_types: WebhookAlertType[];
  min_severity: WebhookSeverity | null;
  created_at: Date;
}

/**
 * Enabled endpoints of each project's organization whose project filter admits the project. Event type,
 * severity and creation time are left to the caller (they depend on the alert, not the project).
 */
export async function subscriptionsForProjects(db: Queryable, projectIds: readonly number[]): Promise<WebhookSubscription[]> {
  if (projectIds.length === 0) return [];
  // Named: planned once per connection (delivery runs it for every batch of alerts).
  const { rows } = await db.query<WebhookSubscription>({
    name: 'vigil_webhook_subscriptions',
    text: `select p.id as project_id, p.organization_id, w.id as webhook_id, w.event_types, w.min_severity, w.created_at
     from projects p
     join webhooks w on w.organization_id = p.organization_id and w.status = 'enabled'
       and (w.project_ids is null or p.id = any (w.project_ids))
     where p.id = any ($1::bigint[])`,
    values: [[...new Set(projectIds)]],
  });
  return rows;
}

/** The organization of each project that exists. */
export async function projectOrganizations(db: Queryable, projectIds: readonly number[]): Promise<Map<number, number>> {
  if (projectIds.length === 0) return new Map();
  const { rows } = await db.query<{ id: number; organization_id: number }>(
    'select id, organization_id from projects where id = any ($1::bigint[])',
    [[...new Set(projectIds)]],
  );
  return new Map(rows.map((r) => [r.id, r.organization_id]));
}

function dedupe<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids come from URLs; a malformed one is "not found", not a database error. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
