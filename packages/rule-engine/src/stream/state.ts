/**
 * Per-(rule, group) state and per-(source, project) clocks, and their serialised form.
 *
 * Each entry is self-describing JSON with a stable key, so the service can keep it in a compacted
 * Kafka changelog (key → latest value, `null` = tombstone) or a PostgreSQL table, and restore any
 * subset of it. A restored entry is used only if its rule still has the same state signature
 * (same source, project, match, grouping and window); otherwise it is discarded.
 */
import type { GroupValue } from './alert';
import { newEvidence, topFromPairs, topPairs } from './evidence';
import type { EvidenceState } from './evidence';
import type { Source } from '../records';
import { BUCKET_FIELDS, bucketRows, markFired } from './window';
import type { DistinctValue, WindowState } from './window';

export interface GroupState {
  readonly ruleId: string;
  readonly projectId: number;
  /** Canonical JSON of `values`. */
  readonly groupKey: string;
  readonly values: GroupValue[];
  /** Aggregating rules: the window buckets. */
  win: WindowState | null;
  /** Aggregating rules: evidence kept for the next alert. */
  ev: EvidenceState | null;
  /** Single-record rules with suppression: event times of the alerts raised, ascending. */
  fired: number[] | null;
}

export interface StreamClock {
  readonly source: Source;
  readonly projectId: number;
  /** Newest event time seen for this source and project. */
  time: number;
  /** Stream time at which idle groups are next looked for. */
  nextSweep: number;
}

export const STATE_FORMAT = 1;

export interface SerializedGroup {
  kind: 'group';
  format: number;
  rule_id: string;
  signature: string;
  project_id: number;
  group_values: GroupValue[];
  /** Aggregating rules. */
  window?: {
    clock: number;
    /** [bucket, records, first ms, last ms, sum, bytes, packets] */
    buckets: number[][];
    distinct: Array<[DistinctValue, number[]]> | null;
    fired: number[];
    samples: Array<[string, number]>;
    top_ports: Array<[number, number]> | null;
    top_addrs: Array<[string, number]> | null;
  };
  /** Single-record rules. */
  fired?: number[];
}

export interface SerializedClock {
  kind: 'clock';
  format: number;
  source: Source;
  project_id: number;
  time: number;
  next_sweep: number;
}

export type SerializedState = SerializedGroup | SerializedClock;

/** One changelog record: `value: null` deletes the key. */
export interface StateEntry {
  key: string;
  value: SerializedState | null;
}

export function groupEntryKey(ruleId: string, projectId: number, groupKey: string): string {
  return `group\u001f${ruleId}\u001f${projectId}\u001f${groupKey}`;
}

export function clockEntryKey(source: Source, projectId: number): string {
  return `clock\u001f${source}\u001f${projectId}`;
}

export function serializeGroup(g: GroupState, signature: string): SerializedGroup {
  const out: SerializedGroup = { kind: 'group', format: STATE_FORMAT, rule_id: g.ruleId, signature, project_id: g.projectId, group_values: g.values };
  if (g.win !== null && g.ev !== null) {
    const w = g.win;
    const buckets = bucketRows(w);
    out.window = {
      clock: w.clock,
      buckets,
      distinct: w.occ === null ? null : [...w.occ.entries()].map(([v, l]) => [v, [...l]]),
      fired: [...w.fired],
      samples: g.ev.ids.map((id, i) => [id, g.ev?.times[i] as number]),
      top_ports: topPairs(g.ev.ports),
      top_addrs: topPairs(g.ev.addrs),
    };
  }
  if (g.fired !== null) out.fired = [...g.fired];
  return out;
}

function finiteList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** Rebuilds a group from its serialised form; null when the entry is malformed. */
export function deserializeGroup(s: SerializedGroup, source: Source, aggregating: boolean): GroupState | null {
  if (s.format !== STATE_FORMAT || !Array.isArray(s.group_values)) return null;
  const base = { ruleId: s.rule_id, projectId: s.project_id, groupKey: JSON.stringify(s.group_values), values: s.group_values };
  if (!aggregating) {
    if (!finiteList(s.fired)) return null;
    return { ...base, win: null, ev: null, fired: [...s.fired].sort((a, b) => a - b) };
  }
  const w = s.window;
  if (w === undefined || typeof w.clock !== 'number' || !Array.isArray(w.buckets) || !finiteList(w.fired)) return null;
  const win: WindowState = {
    clock: w.clock, b: [],
    occ: w.distinct === null ? null : new Map(), dc: null, fired: [],
  };
  for (const f of w.fired) markFired(win, f);
  for (const row of w.buckets) {
    if (!finiteList(row) || row.length !== BUCKET_FIELDS) return null;
    win.b.push(...row);
  }
  if (w.distinct !== null) {
    if (!Array.isArray(w.distinct)) return null;
    for (const pair of w.distinct) {
      if (!Array.isArray(pair) || !finiteList(pair[1])) return null;
      win.occ?.set(pair[0], [...pair[1]]);
    }
  }
  const ev = newEvidence(source);
  for (const [id, t] of w.samples ?? []) {
    ev.ids.push(id);
    ev.times.push(t);
  }
  if (ev.ports !== null && Array.isArray(w.top_ports)) ev.ports = topFromPairs(w.top_ports);
  if (ev.addrs !== null && Array.isArray(w.top_addrs)) ev.addrs = topFromPairs(w.top_addrs);
  return { ...base, win, ev, fired: null };
}

export function serializeClock(c: StreamClock): SerializedClock {
  return { kind: 'clock', format: STATE_FORMAT, source: c.source, project_id: c.projectId, time: c.time, next_sweep: c.nextSweep };
}
