/**
 * A detection task: the state of one partition of the re-partition topic, in memory. Like a Kafka
 * Streams task, it is the unit that moves between workers: everything a (rule, project, group)
 * remembers lives in exactly one task, so with any number of workers each group's records meet in
 * one engine, in the order of that partition.
 *
 * It holds one engine per organization (an organization's rules, organization-wide ones included,
 * never see another organization's records), the position up to which the partition is applied,
 * and per input stream the newest input record applied — the origin check that makes a record
 * routed twice count once.
 */
import { createEngine, type Alert, type EngineOptions, type InputRecord, type RuleEngine, type Source } from '@vigil/rule-engine';
import type { RuleSet } from '../catalog/rule-catalog';
import { isAfter, type Origin } from '../route/repartition-message';
import type { StateChange, StoredTask } from './task-store';

export interface ApplyOutcome {
  alerts: readonly Alert[];
  /** Rule ids named by the message that this worker does not run (removed or disabled since routing). */
  unknownRules: number;
}

export interface EngineTotals {
  late: number;
  stale: number;
  suppressed: number;
}

export class DetectionTask {
  /** The first re-partition offset not yet applied. */
  nextOffset: number;
  /** The position last read from or written to PostgreSQL: the fencing token of the next write. */
  storedOffset: number;
  readonly origins: Map<string, Pick<Origin, 'offset' | 'index'>>;
  private readonly engines = new Map<number, RuleEngine>();
  private readonly ruleIds = new Map<number, Set<string>>();
  private rules: RuleSet;

  constructor(
    readonly partition: number,
    private readonly options: EngineOptions,
    stored: StoredTask,
    rules: RuleSet,
  ) {
    this.nextOffset = stored.nextOffset;
    this.storedOffset = stored.nextOffset;
    this.origins = new Map(stored.origins);
    this.rules = rules;
    const byOrg = new Map<number, StoredTask['entries'][number]['entry'][]>();
    for (const { organizationId, entry } of stored.entries) {
      const list = byOrg.get(organizationId);
      if (list === undefined) byOrg.set(organizationId, [entry]);
      else list.push(entry);
    }
    // Rules first, then state: entries of rules that changed meaning or are gone are discarded
    // (and deleted with the next write).
    for (const [org, entries] of byOrg) this.engineFor(org).restore(entries);
  }

  /** Installs a new rule set in every engine; state of rules whose meaning is unchanged is kept. */
  useRules(set: RuleSet): void {
    this.rules = set;
    for (const [org, engine] of this.engines) {
      const rules = set.byOrganization.get(org) ?? [];
      engine.load(rules);
      this.ruleIds.set(org, new Set(rules.map((r) => r.id)));
    }
  }

  private engineFor(org: number): RuleEngine {
    let engine = this.engines.get(org);
    if (engine === undefined) {
      engine = createEngine({ ...this.options, trackChanges: true });
      const rules = this.rules.byOrganization.get(org) ?? [];
      engine.load(rules);
      this.engines.set(org, engine);
      this.ruleIds.set(org, new Set(rules.map((r) => r.id)));
    }
    return engine;
  }

  /** True when this origin (or a later one of its stream) was already applied. */
  isRepeat(origin: Origin): boolean {
    const last = this.origins.get(origin.stream);
    return last !== undefined && !isAfter(origin, last);
  }

  apply(source: Source, organizationId: number, ruleIds: readonly string[], record: InputRecord, origin: Origin): ApplyOutcome {
    const engine = this.engineFor(organizationId);
    const known = this.ruleIds.get(organizationId) as Set<string>;
    let alerts: Alert[] | null = null;
    let unknownRules = 0;
    for (const ruleId of ruleIds) {
      if (!known.has(ruleId)) {
        unknownRules++;
        continue;
      }
      const raised = engine.process(source, record, ruleId);
      if (raised.length > 0) (alerts ??= []).push(...raised);
    }
    this.origins.set(origin.stream, { offset: origin.offset, index: origin.index });
    return { alerts: alerts ?? [], unknownRules };
  }

  /** State changed since the last call, as rows to write. */
  drain(): StateChange[] {
    const out: StateChange[] = [];
    for (const [org, engine] of this.engines) {
      for (const { key, value } of engine.drainChanges()) out.push({ organizationId: org, key, value: value === null ? null : JSON.stringify(value) });
    }
    return out;
  }

  /** Records dropped or detections withheld by the engines so far (counters of this task's lifetime). */
  totals(): EngineTotals {
    const t: EngineTotals = { late: 0, stale: 0, suppressed: 0 };
    for (const engine of this.engines.values()) {
      for (const r of engine.rules()) {
        t.late += r.counters.late;
        t.stale += r.counters.stale;
        t.suppressed += r.counters.suppressed;
      }
    }
    return t;
  }
}
