/**
 * What one matching record does to one rule's state, and the alert it may raise.
 *
 * Single-record rules alert on every matching record, except that after an alert a (rule,
 * project, group) stays silent for `suppress`: a record alerts only if no earlier alert of its
 * group lies within `suppress` of its event time, in either direction.
 *
 * Aggregating rules add the record to its group's window buckets; the earliest window containing
 * it that reaches the threshold raises an alert, unless its end lies within max(window, suppress)
 * of a window that already alerted for the group (so one burst never raises two alerts).
 */
import type { Alert, GroupValue } from './alert';
import { aggregateSummary, alertId, alertTitle, recordSummary, recordWindowIdentity, textValues, windowIdentity } from './alert';
import type { CompiledRule } from '../match/compile';
import type { Getter } from '../rule/fields';
import { DISTINCT_SAMPLE, newEvidence, noteEvent, noteFlow, recordEvidence, resetTops, windowEvidence } from './evidence';
import { asNumber } from '../match/literals';
import type { EventRecord, FlowRecord, InputRecord, Source } from '../records';
import { recordIdentity } from '../records';
import type { GroupState } from './state';
import { addDistinct, addToBucket, advanceClock, crossingAfterAdd, distinctValuesIn, isLate, markFired, newWindowState, SUPPRESSED, windowTotals } from './window';
import type { DistinctValue, WindowSpec } from './window';

export interface RuleCounters {
  /** Records the router offered to the rule. */
  offered: number;
  matched: number;
  alerts: number;
  /** Detections withheld by suppression. */
  suppressed: number;
  /** Matching records dropped: older than the group's newest record by more than the lateness. */
  late: number;
  /** Matching records dropped: older than the stream's newest record by more than the max lag. */
  stale: number;
}

export interface DetectContext {
  evidenceSamples: number;
  /** Called whenever a group's state changed (for the changelog); null when not tracked. */
  touched: ((slot: unknown, group: GroupState) => void) | null;
}

/** The part of a loaded rule the detection code needs. */
export interface DetectSlot {
  readonly compiled: CompiledRule;
  readonly counters: RuleCounters;
  readonly groups: Map<number, Map<string, GroupState>>;
}

const NO_GROUP = '[]';

export function groupValue(v: unknown): GroupValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  return JSON.stringify(v) ?? null;
}

/** Canonical JSON of the group values: the state key and the alert's `group_key`. */
export function groupKeyOf(c: CompiledRule, record: InputRecord): string {
  const getters = c.groupGetters;
  switch (getters.length) {
    case 0: return NO_GROUP;
    case 1: return `[${JSON.stringify(groupValue((getters[0] as Getter)(record)))}]`;
    case 2: return `[${JSON.stringify(groupValue((getters[0] as Getter)(record)))},${JSON.stringify(groupValue((getters[1] as Getter)(record)))}]`;
    default: return JSON.stringify(getters.map((g) => groupValue(g(record))));
  }
}

function groupValuesOf(c: CompiledRule, record: InputRecord): GroupValue[] {
  const getters = c.groupGetters;
  if (getters.length === 0) return [];
  return getters.map((g) => groupValue(g(record)));
}

function groupsOf(slot: DetectSlot, projectId: number): Map<string, GroupState> {
  let m = slot.groups.get(projectId);
  if (m === undefined) slot.groups.set(projectId, (m = new Map()));
  return m;
}

function namedValues(c: CompiledRule, values: GroupValue[]): Record<string, GroupValue> {
  const out: Record<string, GroupValue> = {};
  c.groupBy.forEach((f, i) => { out[f] = values[i] ?? null; });
  return out;
}

function describeRecord(source: Source, r: InputRecord): string {
  if (source === 'events') {
    const e = r as EventRecord;
    return `event ${e.event_id} (${e.type})`;
  }
  const f = r as FlowRecord;
  return `flow ${f.src_addr}:${f.src_port} → ${f.dst_addr}:${f.dst_port} (protocol ${f.protocol}, ${f.bytes} bytes)`;
}

export function evaluateSingle(ctx: DetectContext, slot: DetectSlot, projectId: number, record: InputRecord, t: number): Alert | null {
  const c = slot.compiled;
  const key = groupKeyOf(c, record);
  if (c.suppressMs > 0) {
    const groups = groupsOf(slot, projectId);
    let g = groups.get(key);
    if (g !== undefined) {
      for (const f of g.fired as number[]) {
        if (Math.abs(t - f) < c.suppressMs) {
          slot.counters.suppressed++;
          return null;
        }
      }
    } else {
      g = { ruleId: c.rule.id, projectId, groupKey: key, values: groupValuesOf(c, record), win: null, ev: null, fired: [] };
      groups.set(key, g);
    }
    const fired = g.fired as number[];
    let i = fired.length;
    while (i > 0 && (fired[i - 1] as number) > t) i--;
    fired.splice(i, 0, t);
    ctx.touched?.(slot, g);
  }
  slot.counters.alerts++;
  const rule = c.rule;
  const values = namedValues(c, groupValuesOf(c, record));
  return {
    id: alertId(rule.id, projectId, key, recordWindowIdentity(recordIdentity(rule.source, record))),
    rule_id: rule.id,
    rule_version: rule.version,
    rule_name: rule.name,
    project_id: projectId,
    severity: rule.severity,
    status: 'open',
    title: alertTitle(rule, values),
    summary: recordSummary(describeRecord(rule.source, record), values),
    group_key: key,
    group_values: textValues(values),
    window_start_ms: t,
    window_end_ms: t + 1,
    value: 1,
    threshold: 1,
    first_seen_ms: t,
    last_seen_ms: t,
    detected_at_ms: t,
    evidence: recordEvidence(rule.source, record),
    tags: [...rule.tags],
    dedupe_ms: c.suppressMs,
  };
}

function distinctValue(v: unknown): DistinctValue | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  return JSON.stringify(v) ?? null;
}

function nonNegative(v: unknown): number {
  const n = asNumber(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

export function evaluateAggregate(ctx: DetectContext, slot: DetectSlot, spec: WindowSpec, projectId: number, record: InputRecord, t: number): Alert | null {
  const c = slot.compiled;
  const agg = c.aggregate as NonNullable<CompiledRule['aggregate']>;
  const source = c.source;
  const key = groupKeyOf(c, record);
  const groups = groupsOf(slot, projectId);
  let g = groups.get(key);
  if (g === undefined) {
    g = { ruleId: c.rule.id, projectId, groupKey: key, values: groupValuesOf(c, record), win: newWindowState(spec.fn, t), ev: newEvidence(source), fired: null };
    groups.set(key, g);
  } else if (isLate(g.win as NonNullable<GroupState['win']>, t, spec.latenessMs)) {
    slot.counters.late++;
    return null;
  }
  const win = g.win as NonNullable<GroupState['win']>;
  const ev = g.ev as NonNullable<GroupState['ev']>;
  if (advanceClock(win, t, spec)) resetTops(ev);
  const summand = spec.fn === 'sum' ? nonNegative((agg.value as (r: unknown) => unknown)(record)) : 0;
  let b: number;
  if (source === 'flows') {
    const f = record as FlowRecord;
    b = addToBucket(win, spec, t, summand, nonNegative(f.bytes), nonNegative(f.packets));
    noteFlow(ev, f);
  } else {
    b = addToBucket(win, spec, t, summand, 0, 0);
    noteEvent(ev, (record as EventRecord).event_id, t, ctx.evidenceSamples);
  }
  let crossing;
  if (spec.fn === 'distinct') {
    const dv = distinctValue((agg.value as (r: unknown) => unknown)(record));
    crossing = dv === null ? null : addDistinct(win, spec, b, dv);
  } else {
    crossing = crossingAfterAdd(win, spec, b);
  }
  ctx.touched?.(slot, g);
  if (crossing === null) return null;
  if (crossing === SUPPRESSED) {
    slot.counters.suppressed++;
    return null;
  }
  markFired(win, crossing.end);
  const totals = windowTotals(win, spec.geometry, crossing.end);
  const rule = c.rule;
  const values = namedValues(c, g.values);
  const distinct = spec.fn === 'distinct' ? distinctValuesIn(win, spec.geometry.buckets, crossing.end, DISTINCT_SAMPLE) : null;
  const evidence = windowEvidence(source, ev, totals.startMs, totals.endMs, totals, distinct);
  resetTops(ev);
  slot.counters.alerts++;
  return {
    id: alertId(rule.id, projectId, key, windowIdentity(totals.startMs, totals.endMs)),
    rule_id: rule.id,
    rule_version: rule.version,
    rule_name: rule.name,
    project_id: projectId,
    severity: rule.severity,
    status: 'open',
    title: alertTitle(rule, values),
    summary: aggregateSummary(rule, agg.fn, rule.aggregate?.field ?? null, crossing.value, totals.records, values),
    group_key: key,
    group_values: textValues(values),
    window_start_ms: totals.startMs,
    window_end_ms: totals.endMs,
    value: crossing.value,
    threshold: agg.threshold,
    first_seen_ms: totals.firstSeenMs,
    last_seen_ms: totals.lastSeenMs,
    detected_at_ms: t,
    evidence,
    tags: [...rule.tags],
    dedupe_ms: spec.spacing * spec.geometry.bucketMs,
  };
}
