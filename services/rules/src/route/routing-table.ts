/**
 * Which (rule, group) pairs a record belongs to, per organization: one stateless engine per
 * organization holds that organization's enabled rules, compiled and indexed once, and answers
 * `groupsOf` (the router narrows, the compiled predicates decide). It keeps no state: the
 * detection stage does.
 */
import { createEngine, type InputRecord, type RuleEngine, type Source } from '@vigil/rule-engine';
import type { RuleSet } from '../catalog/rule-catalog';

export class RoutingTable {
  private engines = new Map<number, RuleEngine>();

  /** Installs a new rule set (engines of organizations without rules are dropped). */
  use(set: RuleSet): void {
    const next = new Map<number, RuleEngine>();
    for (const [org, rules] of set.byOrganization) {
      const engine = this.engines.get(org) ?? createEngine();
      engine.load(rules);
      next.set(org, engine);
    }
    this.engines = next;
  }

  /** The (rule, project, group) pairs of `record`; empty when no enabled rule of its organization matches. */
  groupsOf(organizationId: number, source: Source, record: InputRecord): Array<{ rule_id: string; project_id: number; group_key: string }> {
    const engine = this.engines.get(organizationId);
    return engine === undefined ? [] : engine.groupsOf(source, record);
  }
}
