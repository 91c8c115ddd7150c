/**
 * What a rule change does to the rule's state. Rules are compared by their canonical JSON:
 * - identical → the loaded rule and its state stay as they are;
 * - only presentation or thresholds changed (name, description, severity, tags, version,
 *   threshold, suppression interval) → the new rule takes over the state: a half-reached
 *   threshold survives the edit, and the next alert carries the new version;
 * - anything that changes what the state means (source, project, match, group-by fields, window,
 *   aggregate function or field) → the state is discarded;
 * - disabled or removed → the state is discarded.
 */
import { compileRule, ruleFingerprint } from '../match/compile';
import type { CompiledRule } from '../match/compile';
import type { Source } from '../records';
import type { Rule, RuleIssue } from '../rule/schema';
import { RuleValidationError } from '../rule/schema';
import type { RuleCounters } from './detect';
import type { GroupState } from './state';
import type { WindowSpec } from './window';

export interface LoadReport {
  added: string[];
  updated: string[];
  /** Rules whose state was discarded because its meaning changed (match, grouping, window…). */
  reset: string[];
  removed: string[];
  disabled: string[];
  unchanged: string[];
  rejected: Array<{ id: string; issues: RuleIssue[] }>;
}

export function emptyLoadReport(): LoadReport {
  return { added: [], updated: [], reset: [], removed: [], disabled: [], unchanged: [], rejected: [] };
}

/** A loaded rule: compiled form, window parameters, state and counters. */
export interface Slot {
  readonly id: string;
  readonly source: Source;
  readonly projectId: number | null;
  readonly route: CompiledRule['route'];
  readonly compiled: CompiledRule;
  readonly fingerprint: string;
  readonly spec: WindowSpec | null;
  readonly enabled: boolean;
  /** project → group key → state */
  readonly groups: Map<number, Map<string, GroupState>>;
  readonly counters: RuleCounters;
}

export interface SlotSettings {
  allowedLatenessMs: number;
  maxDistinctValues: number;
}

export function newCounters(): RuleCounters {
  return { offered: 0, matched: 0, alerts: 0, suppressed: 0, late: 0, stale: 0 };
}

function windowSpec(c: CompiledRule, settings: SlotSettings): WindowSpec | null {
  const a = c.aggregate;
  if (a === null) return null;
  const g = a.geometry;
  return {
    geometry: g,
    fn: a.fn,
    threshold: a.threshold,
    latenessMs: settings.allowedLatenessMs,
    spacing: Math.max(g.buckets, Math.ceil(c.suppressMs / g.bucketMs)),
    distinctCap: Math.max(settings.maxDistinctValues, 2 * Math.ceil(a.threshold)),
  };
}

/**
 * Compiles `rule` into the slot that replaces `old` (if any) and records the outcome in `report`.
 * Returns null when the rule is rejected. `discard` is called with `old` when its state must go.
 */
export function prepareSlot(rule: Rule, old: Slot | undefined, settings: SlotSettings, report: LoadReport, discard: (old: Slot) => void): Slot | null {
  let compiled: CompiledRule;
  try {
    compiled = compileRule(rule);
  } catch (err) {
    const id = String((rule as { id?: unknown }).id);
    report.rejected.push({ id, issues: err instanceof RuleValidationError ? err.issues : [{ path: '', message: (err as Error).message }] });
    return null;
  }
  const r = compiled.rule;
  const fingerprint = ruleFingerprint(r);
  if (old !== undefined && old.fingerprint === fingerprint) {
    report.unchanged.push(r.id);
    return old;
  }
  const keep = old !== undefined && old.enabled && r.enabled && old.compiled.stateSignature === compiled.stateSignature;
  if (old !== undefined && !keep) discard(old);
  if (!r.enabled) report.disabled.push(r.id);
  else if (old === undefined) report.added.push(r.id);
  else if (keep) report.updated.push(r.id);
  else report.reset.push(r.id);
  return {
    id: r.id,
    source: r.source,
    projectId: r.project_id,
    route: compiled.route,
    compiled,
    fingerprint,
    spec: windowSpec(compiled, settings),
    enabled: r.enabled,
    groups: keep ? (old as Slot).groups : new Map(),
    counters: keep ? (old as Slot).counters : newCounters(),
  };
}
