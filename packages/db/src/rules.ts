import { ConflictError, isUniqueViolation } from './organizations';
import type { Pool, Queryable } from './pool';
import { withTransaction } from './pool';

/**
 * Detection rules of an organization and their version history. Every function a tenant reaches
 * through the API takes the organization id, so a rule of another organization is simply not found.
 *
 * Validation is the caller's (parseRule of @vigil/rule-engine): these functions store the canonical
 * definition they are given, setting its `id` and `version`. Every change — create, update, enable,
 * disable, delete — bumps the version, appends the definition to rule_versions and (through a
 * trigger) wakes the rule workers, which apply it within seconds.
 */
export type RuleSource = 'events' | 'flows';
export type RuleSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export type RuleChange = 'created' | 'updated' | 'enabled' | 'disabled' | 'deleted';

/** The canonical rule as @vigil/rule-engine defines it; only the fields stored in columns are named. */
export interface RuleDefinition {
  id: string;
  name: string;
  project_id: number | null;
  source: RuleSource;
  severity: RuleSeverity;
  enabled: boolean;
  version: number;
  [field: string]: unknown;
}

export interface StoredRule {
  organization_id: number;
  id: string;
  project_id: number | null;
  name: string;
  source: RuleSource;
  severity: RuleSeverity;
  enabled: boolean;
  version: number;
  definition: RuleDefinition;
  created_at: Date;
  created_by: string | null;
  updated_at: Date;
  updated_by: string | null;
}

export interface RuleVersion {
  rule_id: string;
  version: number;
  change: RuleChange;
  definition: RuleDefinition;
  created_at: Date;
  created_by: string | null;
}

/** A project id that does not exist in the rule's organization. */
export class RuleProjectError extends Error {
  constructor(readonly projectId: number) {
    super(`project ${projectId} does not exist in this organization`);
    this.name = 'RuleProjectError';
  }
}

const COLUMNS = `organization_id, id, project_id, name, source, severity, enabled, version, definition,
  created_at, created_by, updated_at, updated_by`;

async function assertProject(db: Queryable, organizationId: number, projectId: number | null): Promise<void> {
  if (projectId === null) return;
  const { rowCount } = await db.query('select 1 from projects where id = $1 and organization_id = $2', [projectId, organizationId]);
  if (rowCount === 0) throw new RuleProjectError(projectId);
}

async function nextVersion(db: Queryable, organizationId: number, ruleId: string): Promise<number> {
  const { rows } = await db.query<{ v: number }>(
    'select coalesce(max(version), 0)::int + 1 as v from rule_versions where organization_id = $1 and rule_id = $2',
    [organizationId, ruleId],
  );
  return rows[0]!.v;
}

async function appendVersion(db: Queryable, organizationId: number, d: RuleDefinition, change: RuleChange, actor: string | null): Promise<void> {
  await db.query(
    `insert into rule_versions (organization_id, rule_id, version, change, definition, created_by) values ($1, $2, $3, $4, $5, $6)`,
    [organizationId, d.id, d.version, change, JSON.stringify(d), actor],
  );
}

/**
 * Stores a new rule (version 1, or the next number after a deleted rule of the same id).
 * Throws ConflictError if the id is taken, RuleProjectError for a project outside the organization.
 */
export async function createRule(pool: Pool, organizationId: number, definition: RuleDefinition, actor: string | null = null): Promise<StoredRule> {
  try {
    return await withTransaction(pool, async (db) => {
      await assertProject(db, organizationId, definition.project_id);
      const d: RuleDefinition = { ...definition, version: await nextVersion(db, organizationId, definition.id) };
      const { rows } = await db.query<StoredRule>(
        `insert into rules (organization_id, id, project_id, name, source, severity, enabled, version, definition, created_by, updated_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) returning ${COLUMNS}`,
        [organizationId, d.id, d.project_id, d.name, d.source, d.severity, d.enabled, d.version, JSON.stringify(d), actor],
      );
      await appendVersion(db, organizationId, d, 'created', actor);
      return rows[0]!;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError(`rule "${definition.id}" already exists`);
    throw err;
  }
}

export async function getRule(db: Queryable, organizationId: number, ruleId: string): Promise<StoredRule | null> {
  const { rows } = await db.query<StoredRule>(`select ${COLUMNS} from rules where organization_id = $1 and id = $2`, [organizationId, ruleId]);
  return rows[0] ?? null;
}

export interface RuleFilter {
  organizationId: number;
  /** Rules of this project and the organization-wide ones. */
  projectId?: number;
  source?: RuleSource;
  enabled?: boolean;
  limit?: number;
  offset?: number;
}

/** Rules ordered by id, with the total for page-based pagination. */
export async function listRules(db: Queryable, filter: RuleFilter): Promise<{ items: StoredRule[]; total: number }> {
  const where = ['organization_id = $1'];
  const params: unknown[] = [filter.organizationId];
  if (filter.projectId !== undefined) {
    params.push(filter.projectId);
    where.push(`(project_id = $${params.length} or project_id is null)`);
  }
  if (filter.source !== undefined) {
    params.push(filter.source);
    where.push(`source = $${params.length}`);
  }
  if (filter.enabled !== undefined) {
    params.push(filter.enabled);
    where.push(`enabled = $${params.length}`);
  }
  const clause = where.join(' and ');
  const total = await db.query<{ n: number }>(`select count(*)::int as n from rules where ${clause}`, params);
  params.push(filter.limit ?? 50, filter.offset ?? 0);
  const { rows } = await db.query<StoredRule>(
    `select ${COLUMNS} from rules where ${clause} order by id limit $${params.length - 1} offset $${params.length}`,
    params,
  );
  return { items: rows, total: total.rows[0]!.n };
}

async function change(
  pool: Pool,
  organizationId: number,
  ruleId: string,
  kind: RuleChange,
  actor: string | null,
  next: (current: RuleDefinition) => RuleDefinition | null,
  expectedVersion?: number,
): Promise<StoredRule | null> {
  return withTransaction(pool, async (db) => {
    const { rows } = await db.query<StoredRule>(`select ${COLUMNS} from rules where organization_id = $1 and id = $2 for update`, [organizationId, ruleId]);
    const current = rows[0];
    if (current === undefined) return null;
    if (expectedVersion !== undefined && current.version !== expectedVersion) {
      throw new ConflictError(`rule "${ruleId}" is at version ${current.version}, not ${expectedVersion}`);
    }
    const wanted = next(current.definition);
    if (wanted === null || sameDefinition(wanted, current.definition)) return current;
    await assertProject(db, organizationId, wanted.project_id);
    const d: RuleDefinition = { ...wanted, id: ruleId, version: await nextVersion(db, organizationId, ruleId) };
    const updated = await db.query<StoredRule>(
      `update rules set project_id = $3, name = $4, source = $5, severity = $6, enabled = $7, version = $8, definition = $9,
         updated_at = now(), updated_by = $10
       where organization_id = $1 and id = $2 returning ${COLUMNS}`,
      [organizationId, ruleId, d.project_id, d.name, d.source, d.severity, d.enabled, d.version, JSON.stringify(d), actor],
    );
    await appendVersion(db, organizationId, d, kind, actor);
    return updated.rows[0]!;
  });
}

/** Key order differs between what callers pass and what jsonb returns, so compare canonically. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function sameDefinition(a: RuleDefinition, b: RuleDefinition): boolean {
  return canonical({ ...a, id: b.id, version: b.version }) === canonical(b);
}

/**
 * Replaces a rule's definition (its id is kept). With `expectedVersion`, refuses (ConflictError)
 * when someone else changed the rule since it was read. Null when there is no such rule; an
 * identical definition is returned unchanged (no new version).
 */
export function updateRule(
  pool: Pool,
  organizationId: number,
  ruleId: string,
  definition: RuleDefinition,
  actor: string | null = null,
  expectedVersion?: number,
): Promise<StoredRule | null> {
  return change(pool, organizationId, ruleId, 'updated', actor, () => definition, expectedVersion);
}

/** Enables or disables a rule; a rule already in that state is returned unchanged (no new version). */
export function setRuleEnabled(pool: Pool, organizationId: number, ruleId: string, enabled: boolean, actor: string | null = null): Promise<StoredRule | null> {
  return change(pool, organizationId, ruleId, enabled ? 'enabled' : 'disabled', actor, (d) => (d.enabled === enabled ? null : { ...d, enabled }));
}

/** Deletes a rule (its versions and alerts stay); false when there was none. */
export async function deleteRule(pool: Pool, organizationId: number, ruleId: string, actor: string | null = null): Promise<boolean> {
  return withTransaction(pool, async (db) => {
    const { rows } = await db.query<StoredRule>(`delete from rules where organization_id = $1 and id = $2 returning ${COLUMNS}`, [organizationId, ruleId]);
    const gone = rows[0];
    if (gone === undefined) return false;
    const d = { ...gone.definition, version: await nextVersion(db, organizationId, ruleId) };
    await appendVersion(db, organizationId, d, 'deleted', actor);
    return true;
  });
}

/** Every version of a rule, newest first (also for deleted rules). */
export async function listRuleVersions(db: Queryable, organizationId: number, ruleId: string): Promise<RuleVersion[]> {
  const { rows } = await db.query<RuleVersion>(
    `select rule_id, version, change, definition, created_at, created_by from rule_versions
     where organization_id = $1 and rule_id = $2 order by version desc`,
    [organizationId, ruleId],
  );
  return rows;
}

export async function getRuleVersion(db: Queryable, organizationId: number, ruleId: string, version: number): Promise<RuleVersion | null> {
  const { rows } = await db.query<RuleVersion>(
    `select rule_id, version, change, definition, created_at, created_by from rule_versions
     where organization_id = $1 and rule_id = $2 and version = $3`,
    [organizationId, ruleId, version],
  );
  return rows[0] ?? null;
}

/** What the rule workers run: every enabled rule of every organization, with the revision it reflects. */
export async function loadEnabledRules(pool: Pool): Promise<{ revision: number; rules: Array<{ organization_id: number; definition: RuleDefinition }> }> {
  return withTransaction(pool, async (db) => {
    await db.query('set transaction isolation level repeatable read');
    const revision = await rulesRevision(db);
    const { rows } = await db.query<{ organization_id: number; definition: RuleDefinition }>(
      'select organization_id, definition from rules where enabled order by organization_id, id',
    );
    return { revision, rules: rows };
  });
}

/** Bumped by every change to the rules table (channel `vigil_rules_changed` announces it). */
export async function rulesRevision(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ revision: number }>('select revision from rules_revision');
  return rows[0]?.revision ?? 0;
}

export const RULES_CHANGED_CHANNEL = 'vigil_rules_changed';
