/**
 * The rules the workers run: every enabled rule of every organization, as of one revision of the
 * rules table, validated by the engine's schema. A definition that does not validate (stored by an
 * older version, or edited by hand) is left out and counted; the others run.
 *
 * Listeners (the routing table and the detection tasks) are called synchronously with each new
 * set, so both stages of a worker switch rules at the same moment.
 */
import { loadEnabledRules, rulesRevision, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import { parseRule, type Rule } from '@vigil/rule-engine';

export interface RuleSet {
  revision: number;
  /** organization id → its enabled rules (project rules and organization-wide ones). */
  byOrganization: ReadonlyMap<number, readonly Rule[]>;
  /** Definitions that failed validation. */
  rejected: number;
}

export const EMPTY_RULE_SET: RuleSet = { revision: -1, byOrganization: new Map(), rejected: 0 };

export class RuleCatalog {
  private set: RuleSet = EMPTY_RULE_SET;
  private readonly listeners: Array<(set: RuleSet) => void> = [];
  /** Parsed rules by organization and definition text, so a reload re-validates only what changed. */
  private parsed = new Map<string, Rule | null>();
  private pending: Promise<boolean> | null = null;
  private again = false;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
  ) {}

  get current(): RuleSet {
    return this.set;
  }

  /** Calls `listener` with every new rule set (not with the current one). */
  onChange(listener: (set: RuleSet) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Reads the rules if their revision changed (or always, with `force`); true when a new set was
   * installed. Concurrent calls share one read, and a call made during a read causes one more.
   */
  refresh(force = false): Promise<boolean> {
    if (this.pending !== null) {
      this.again = true;
      return this.pending;
    }
    const run = async (): Promise<boolean> => {
      let changed = false;
      do {
        this.again = false;
        changed = (await this.readOnce(force)) || changed;
      } while (this.again);
      return changed;
    };
    this.pending = run().finally(() => (this.pending = null));
    return this.pending;
  }

  private async readOnce(force: boolean): Promise<boolean> {
    if (!force && (await rulesRevision(this.pool)) === this.set.revision) return false;
    const loaded = await loadEnabledRules(this.pool);
    if (!force && loaded.revision === this.set.revision) return false;
    const byOrganization = new Map<number, Rule[]>();
    const parsed = new Map<string, Rule | null>();
    let rejected = 0;
    for (const { organization_id: org, definition } of loaded.rules) {
      const cacheKey = `${org}\u001f${JSON.stringify(definition)}`;
      let rule = this.parsed.get(cacheKey);
      if (rule === undefined) {
        const result = parseRule(definition);
        rule = result.ok ? result.value : null;
        if (!result.ok) this.logger.error({ organization_id: org, rule_id: definition.id, issues: result.issues }, 'stored rule is invalid; it does not run');
      }
      parsed.set(cacheKey, rule);
      if (rule === null) {
        rejected++;
        continue;
      }
      const list = byOrganization.get(org);
      if (list === undefined) byOrganization.set(org, [rule]);
      else list.push(rule);
    }
    this.parsed = parsed;
    this.set = { revision: loaded.revision, byOrganization, rejected };
    this.logger.info({ revision: loaded.revision, rules: loaded.rules.length - rejected, rejected }, 'rules loaded');
    for (const listener of this.listeners) listener(this.set);
    return true;
  }
}
