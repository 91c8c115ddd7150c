/**
 * The streaming evaluator: holds the loaded rules (hot-reloadable), the per-(rule, group) state and
 * the per-(source, project) stream clocks, and turns records into alerts.
 *
 * Time (see docs/rules.md for the full statement):
 * - A record's event time is `timestamp_ms` (events) or `flow_end_ms` (flows), clamped to
 *   `received_at_ms` when it lies more than `maxFutureSkewMs` ahead of it.
 * - Stream clock: the newest event time seen per (source, project). A record more than `maxLagMs`
 *   behind it is stale: dropped by every rule and counted (`stale`).
 * - Group clock: the newest event time accepted by an aggregating (rule, group). A record more than
 *   `allowedLatenessMs` behind it is late: dropped by that rule and counted (`late`). Anything
 *   within the lateness is applied to its own bucket exactly as if it had arrived in order.
 * - Idle groups are forgotten only when no record that is not stale could still reach their state,
 *   so forgetting never changes a result.
 */
import type { Alert } from './alert';
import type { EventRecord, FlowRecord, InputRecord, Source } from '../records';
import { eventTimeMs } from '../records';
import { Router } from '../match/routing';
import type { Rule } from '../rule/schema';
import type { GroupState, StateEntry, StreamClock } from './state';
import { clockEntryKey, deserializeGroup, groupEntryKey, serializeClock, serializeGroup } from './state';
import { evaluateAggregate, evaluateSingle, groupKeyOf } from './detect';
import type { DetectContext, RuleCounters } from './detect';
import { emptyLoadReport, prepareSlot } from './reload';
import type { LoadReport, Slot } from './reload';
import { retention } from './retention';

export type { LoadReport } from './reload';

export interface EngineOptions {
  /** How far behind its group's newest record a record may be and still count (default 2 min). */
  allowedLatenessMs?: number;
  /** How far behind the newest record of its source and project a record may be (default 1 h). */
  maxLagMs?: number;
  /** Event times further than this past `received_at_ms` are replaced by it (default 1 min). */
  maxFutureSkewMs?: number;
  /** Sample event ids kept per group and reported per alert (default 10). */
  evidenceSamples?: number;
  /** Values a distinct aggregation remembers per group; at least twice the threshold is kept (default 10,000). */
  maxDistinctValues?: number;
  /** Stream time between looks for idle groups (default 1 min). */
  sweepIntervalMs?: number;
  /** Record changed state for `drainChanges()` (default false). */
  trackChanges?: boolean;
}

type Settings = Required<EngineOptions>;

const DEFAULTS: Settings = {
  allowedLatenessMs: 120_000,
  maxLagMs: 3_600_000,
  maxFutureSkewMs: 60_000,
  evidenceSamples: 10,
  maxDistinctValues: 10_000,
  sweepIntervalMs: 60_000,
  trackChanges: false,
};

export interface RestoreReport { restored: number; discarded: number }

export interface RuleStatus { id: string; version: number; enabled: boolean; groups: number; counters: RuleCounters }

export interface EngineStats {
  records: Record<Source, number>;
  clampedTime: number;
  /** Rule evaluations offered by the router (compare with records × rules). */
  offered: number;
  groups: number;
  rules: RuleStatus[];
}

const NO_ALERTS: readonly Alert[] = Object.freeze([]);
const NO_SLOTS: readonly Slot[] = Object.freeze([]);

export class RuleEngine {
  private readonly settings: Settings;
  private slots = new Map<string, Slot>();
  private router = new Router<Slot>([]);
  private readonly clocks: Record<Source, Map<number, StreamClock>> = { events: new Map(), flows: new Map() };
  private readonly dirtyGroups = new Map<string, { slot: Slot; group: GroupState } | null>();
  private readonly dirtyClocks = new Set<StreamClock>();
  /** Candidate lists of the record being processed (reused; cleared as they are consumed). */
  private readonly scratch: Array<readonly Slot[]> = [];
  private readonly totals = { records: { events: 0, flows: 0 } as Record<Source, number>, clampedTime: 0, offered: 0 };
  private readonly ctx: DetectContext;

  constructor(options: EngineOptions = {}) {
    this.settings = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Settings;
    for (const k of ['allowedLatenessMs', 'maxLagMs', 'maxFutureSkewMs', 'evidenceSamples', 'maxDistinctValues', 'sweepIntervalMs'] as const) {
      const v = this.settings[k];
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`${k} must be a non-negative number, got ${v}`);
    }
    this.ctx = {
      evidenceSamples: this.settings.evidenceSamples,
      touched: this.settings.trackChanges ? (slot, group) => this.touch(slot as Slot, group) : null,
    };
  }

  // ── rules ────────────────────────────────────────────────────────────────────────────────

  /** Replaces the whole rule set; state of rules whose meaning is unchanged is kept. */
  load(rules: readonly Rule[]): LoadReport {
    const report = emptyLoadReport();
    const next = new Map<string, Slot>();
    for (const rule of rules) {
      const id = String((rule as { id?: unknown }).id);
      if (next.has(id)) {
        report.rejected.push({ id, issues: [{ path: 'id', message: `rule id '${id}' is loaded twice` }] });
        continue;
      }
      const slot = prepareSlot(rule, this.slots.get(String((rule as { id?: unknown }).id)), this.settings, report, (old) => this.dropState(old));
      if (slot !== null) next.set(id, slot);
      else {
        const old = this.slots.get(id);
        if (old !== undefined) next.set(id, old);
      }
    }
    for (const [id, old] of this.slots) {
      if (!next.has(id)) {
        this.dropState(old);
        report.removed.push(id);
      }
    }
    this.install(next);
    return report;
  }

  /** Adds or replaces one rule. */
  upsert(rule: Rule): LoadReport {
    const report = emptyLoadReport();
    const slot = prepareSlot(rule, this.slots.get(String((rule as { id?: unknown }).id)), this.settings, report, (old) => this.dropState(old));
    if (slot !== null) {
      const next = new Map(this.slots);
      next.set(slot.id, slot);
      this.install(next);
    }
    return report;
  }

  /** Removes a rule and its state; false when it was not loaded. */
  remove(ruleId: string): boolean {
    const old = this.slots.get(ruleId);
    if (old === undefined) return false;
    this.dropState(old);
    const next = new Map(this.slots);
    next.delete(ruleId);
    this.install(next);
    return true;
  }

  private install(next: Map<string, Slot>): void {
    this.slots = next;
    const active = [...next.values()].filter((s) => s.enabled).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.router = new Router(active);
  }

  private dropState(slot: Slot): void {
    if (this.settings.trackChanges) {
      for (const groups of slot.groups.values()) {
        for (const g of groups.values()) this.dirtyGroups.set(groupEntryKey(slot.id, g.projectId, g.groupKey), null);
      }
    }
    slot.groups.clear();
  }

  // ── records ──────────────────────────────────────────────────────────────────────────────

  processEvent(record: EventRecord): readonly Alert[] {
    return this.process('events', record);
  }

  processFlow(record: FlowRecord): readonly Alert[] {
    return this.process('flows', record);
  }

  /**
   * Evaluates one record against every rule it is routed to (or only against rule `onlyRuleId`,
   * for a worker fed by a topic re-partitioned by rule and group: that rule is looked up directly,
   * and applies if it is enabled and of the record's source and project); returns the alerts it raised.
   */
  process(source: Source, record: InputRecord, onlyRuleId?: string): readonly Alert[] {
    this.totals.records[source]++;
    const time = eventTimeMs(source, record, this.settings.maxFutureSkewMs);
    if (time !== (source === 'events' ? (record as EventRecord).timestamp_ms : (record as FlowRecord).flow_end_ms)) this.totals.clampedTime++;
    const projectId = record.project_id;
    const clock = this.advanceStream(source, projectId, time);
    const stale = time < clock.time - this.settings.maxLagMs;
    if (onlyRuleId !== undefined) {
      const slot = this.slots.get(onlyRuleId);
      if (slot === undefined || !slot.enabled || slot.source !== source || (slot.projectId !== null && slot.projectId !== projectId)) return NO_ALERTS;
      this.totals.offered++;
      const alert = this.evaluate(slot, record, projectId, time, stale);
      return alert === null ? NO_ALERTS : [alert];
    }
    const lists = this.scratch;
    const n = this.router.collect(source, projectId, record, lists);
    let alerts: Alert[] | null = null;
    for (let l = 0; l < n; l++) {
      const list = lists[l] as readonly Slot[];
      lists[l] = NO_SLOTS;
      this.totals.offered += list.length;
      for (let i = 0; i < list.length; i++) {
        const alert = this.evaluate(list[i] as Slot, record, projectId, time, stale);
        if (alert !== null) (alerts ??= []).push(alert);
      }
    }
    return alerts ?? NO_ALERTS;
  }

  private evaluate(slot: Slot, record: InputRecord, projectId: number, time: number, stale: boolean): Alert | null {
    slot.counters.offered++;
    if (!slot.compiled.matches(record)) return null;
    slot.counters.matched++;
    if (stale) {
      slot.counters.stale++;
      return null;
    }
    return slot.spec === null
      ? evaluateSingle(this.ctx, slot, projectId, record, time)
      : evaluateAggregate(this.ctx, slot, slot.spec, projectId, record, time);
  }

  /**
   * The (rule, group) pairs a record belongs to: every enabled rule whose predicate it matches, with
   * the group key its state lives under. A service that re-partitions records so that each group
   * meets in one worker keys them by `${rule_id}/${project_id}/${group_key}`. Changes no state.
   */
  groupsOf(source: Source, record: InputRecord): Array<{ rule_id: string; project_id: number; group_key: string }> {
    const out: Array<{ rule_id: string; project_id: number; group_key: string }> = [];
    const lists = this.scratch;
    const n = this.router.collect(source, record.project_id, record, lists);
    for (let l = 0; l < n; l++) {
      const list = lists[l] as readonly Slot[];
      lists[l] = NO_SLOTS;
      for (let i = 0; i < list.length; i++) {
        const slot = list[i] as Slot;
        if (slot.compiled.matches(record)) out.push({ rule_id: slot.id, project_id: record.project_id, group_key: groupKeyOf(slot.compiled, record) });
      }
    }
    return out;
  }

  private advanceStream(source: Source, projectId: number, time: number): StreamClock {
    const clocks = this.clocks[source];
    let clock = clocks.get(projectId);
    if (clock === undefined) {
      clock = { source, projectId, time, nextSweep: time + this.settings.sweepIntervalMs };
      clocks.set(projectId, clock);
      if (this.settings.trackChanges) this.dirtyClocks.add(clock);
      return clock;
    }
    if (time > clock.time) {
      clock.time = time;
      if (this.settings.trackChanges) this.dirtyClocks.add(clock);
      if (time >= clock.nextSweep) {
        clock.nextSweep = time + this.settings.sweepIntervalMs;
        this.sweep(clock);
      }
    }
    return clock;
  }

  /** Forgets groups of `clock`'s source and project that no acceptable record can reach any more. */
  private sweep(clock: StreamClock): void {
    const horizon = clock.time - this.settings.maxLagMs;
    for (const slot of this.slots.values()) {
      if (slot.source !== clock.source) continue;
      const groups = slot.groups.get(clock.projectId);
      if (groups === undefined) continue;
      for (const [key, g] of groups) {
        const r = retention(slot, g, horizon);
        if (r.trimmed) this.touch(slot, g);
        if (!r.forget) continue;
        groups.delete(key);
        if (this.settings.trackChanges) this.dirtyGroups.set(groupEntryKey(slot.id, g.projectId, g.groupKey), null);
      }
      if (groups.size === 0) slot.groups.delete(clock.projectId);
    }
  }

  // ── state ────────────────────────────────────────────────────────────────────────────────

  private touch(slot: Slot, group: GroupState): void {
    if (this.settings.trackChanges) this.dirtyGroups.set(groupEntryKey(slot.id, group.projectId, group.groupKey), { slot, group });
  }

  /** State changed since the last call (requires `trackChanges`), clocks first. */
  drainChanges(): StateEntry[] {
    const out: StateEntry[] = [];
    for (const c of this.dirtyClocks) out.push({ key: clockEntryKey(c.source, c.projectId), value: serializeClock(c) });
    for (const [key, v] of this.dirtyGroups) out.push({ key, value: v === null ? null : serializeGroup(v.group, v.slot.compiled.stateSignature) });
    this.dirtyClocks.clear();
    this.dirtyGroups.clear();
    return out;
  }

  /** Every piece of state, as entries `restore` accepts. */
  snapshot(): StateEntry[] {
    const out: StateEntry[] = [];
    for (const source of ['events', 'flows'] as const) {
      for (const c of this.clocks[source].values()) out.push({ key: clockEntryKey(source, c.projectId), value: serializeClock(c) });
    }
    for (const slot of [...this.slots.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      for (const groups of slot.groups.values()) {
        for (const g of groups.values()) {
          out.push({ key: groupEntryKey(slot.id, g.projectId, g.groupKey), value: serializeGroup(g, slot.compiled.stateSignature) });
        }
      }
    }
    return out;
  }

  /**
   * Applies entries (a snapshot, or a changelog read from the start; later entries win, `null`
   * deletes). Load the rules first: entries of unknown, disabled or changed rules are discarded.
   */
  restore(entries: Iterable<StateEntry>): RestoreReport {
    const report: RestoreReport = { restored: 0, discarded: 0 };
    for (const { key, value } of entries) {
      if (value === null) {
        this.forget(key);
        continue;
      }
      if (value.kind === 'clock') {
        const clocks = this.clocks[value.source];
        if (clocks === undefined || typeof value.time !== 'number') {
          report.discarded++;
          continue;
        }
        clocks.set(value.project_id, { source: value.source, projectId: value.project_id, time: value.time, nextSweep: value.next_sweep });
        report.restored++;
        continue;
      }
      const slot = this.slots.get(value.rule_id);
      const group = slot !== undefined && slot.enabled && slot.compiled.stateSignature === value.signature
        ? deserializeGroup(value, slot.source, slot.spec !== null)
        : null;
      if (slot === undefined || group === null) {
        report.discarded++;
        if (this.settings.trackChanges) this.dirtyGroups.set(key, null);
        continue;
      }
      let groups = slot.groups.get(group.projectId);
      if (groups === undefined) slot.groups.set(group.projectId, (groups = new Map()));
      groups.set(group.groupKey, group);
      report.restored++;
    }
    return report;
  }

  private forget(key: string): void {
    const [kind, a, b, groupKey] = key.split('\u001f');
    if (kind === 'clock') {
      this.clocks[a as Source]?.delete(Number(b));
      return;
    }
    const groups = this.slots.get(a as string)?.groups.get(Number(b));
    groups?.delete(groupKey as string);
  }

  // ── introspection ────────────────────────────────────────────────────────────────────────

  rules(): RuleStatus[] {
    return [...this.slots.values()].map((s) => ({
      id: s.id,
      version: s.compiled.rule.version,
      enabled: s.enabled,
      groups: [...s.groups.values()].reduce((n, m) => n + m.size, 0),
      counters: { ...s.counters },
    }));
  }

  stats(): EngineStats {
    const rules = this.rules();
    return {
      records: { ...this.totals.records },
      clampedTime: this.totals.clampedTime,
      offered: this.totals.offered,
      groups: rules.reduce((n, r) => n + r.groups, 0),
      rules,
    };
  }
}

export function createEngine(options: EngineOptions = {}): RuleEngine {
  return new RuleEngine(options);
}

