/**
 * The default rule pack, stored on request for one project (or the whole organization): brute-force
 * logins, port scan, host sweep, large outbound transfer, known service on a non-standard port and,
 * given a blocklist, traffic to blocklisted networks (`defaultRulePack` of @vigil/rule-engine). The
 * rules are ordinary stored rules afterwards — edited, disabled or deleted like any other — and
 * installing again leaves rules whose ids exist as they are.
 */
import { ConflictError, createRule, type Pool, type StoredRule } from '@vigil/db';
import { defaultRulePack, type DefaultPackOptions } from '@vigil/rule-engine';

export interface InstallDefaultRulesInput {
  organizationId: number;
  /** The project the rules watch; null: every project of the organization. */
  projectId: number | null;
  actor?: string | null;
  options?: Omit<DefaultPackOptions, 'projectId'>;
}

export interface InstalledDefaultRules {
  created: StoredRule[];
  /** Ids already present (kept unchanged). */
  existing: string[];
}

/** Throws RuleProjectError when the project is not the organization's. */
export async function installDefaultRules(pool: Pool, input: InstallDefaultRulesInput): Promise<InstalledDefaultRules> {
  const result: InstalledDefaultRules = { created: [], existing: [] };
  for (const rule of defaultRulePack({ ...input.options, projectId: input.projectId })) {
    try {
      result.created.push(await createRule(pool, input.organizationId, { ...rule }, input.actor ?? null));
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      result.existing.push(rule.id);
    }
  }
  return result;
}
