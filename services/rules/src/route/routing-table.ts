/**
 * Which (rule, group) pairs a record belongs to, per organization: one stateless engine per
 * organization holds that organization's enabled rules, compiled and indexed once, and answers
 * `groupsOf` (the router narrows, the compiled predicates decide). It keeps no state: the
 * detection stage does.
 */
import { createEngine, ruleFields, type InputRecord, type RuleEngine, type Source } from '@vigil/rule-engine';
import type { RuleSet } from '../catalog/rule-catalog';
import type { FieldSet } from './avro-projection';
import { withContractFields } from './record-decoding';

export class RoutingTable {
  private engines = new Map<number, RuleEngine>();
  private decoded: Record<Source, FieldSet> = { events: withContractFields('events', []), flows: withContractFields('flows', []) };

  /** Installs a new rule set (engines of organizations without rules are dropped). */
  use(set: RuleSet): void {
    const next = new Map<number, RuleEngine>();
    for (const [org, rules] of set.byOrganization) {
      const engine = this.engines.get(org) ?? createEngine();
      engine.load(rules);
      next.set(org, engine);
    }
    this.engines = next;
    const read: Record<Source, Set<string>> = { events: new Set(), flows: new Set() };
    for (const rules of set.byOrganization.values()) for (const rule of rules) for (const f of ruleFields(rule)) read[rule.source].add(f);
    this.decoded = { events: withContractFields('events', read.events), flows: withContractFields('flows', read.flows) };
  }

  /** The top-level fields routing reads of a record of `source`: those any rule reads, and the contract's. */
  fields(source: Source): FieldSet {
    return this.decoded[source];
  }

  /** The (rule, project, group) pairs of `record`; empty when no enabled rule of its organization matches. */
  groupsOf(organizationId: number, source: Source, record: InputRecord): Array<{ rule_id: string; project_id: number; group_key: string }> {
    const engine = this.engines.get(organizationId);
    return engine === undefined ? [] : engine.groupsOf(source, record);
  }
}
