/**
 * The alert a detection produces and its deterministic id.
 *
 * id = first 128 bits (32 hex) of SHA-256 over "vigil.alert.v1", rule id, project id, group key and
 * the window identity:
 * - aggregating rules: the epoch-aligned window `[window_start_ms, window_end_ms)` that crossed the
 *   threshold (its bounds depend only on the rule's window length and event times);
 * - single-record rules: the identity of the record that matched (`event_id`, or a flow's
 *   exporter, domain, sequence, times and 5-tuple).
 * The rule version is not part of the id: editing a rule's title does not turn a detection into a
 * new one. The same input in the same order therefore always yields the same ids, which makes
 * inserts idempotent across replays and restarts.
 *
 * In another arrival order (a replay that merges input partitions differently, a restart without
 * state) the window that crosses first, or the record that fires first, may differ, and so may the
 * id. What does not differ is the detection: every alert one order raises lies within `dedupe_ms`
 * of an alert of the same rule, project and group that any other order (within the lateness)
 * raises, while two alerts of one run never do (`sameDetection`). Storage skips a detection that
 * is already stored under another id on that rule.
 */
import * as crypto from 'node:crypto';
import { formatDuration, parseDuration } from '../rule/duration';
import type { Evidence } from './evidence';
import type { Severity } from '../records';
import type { AggregateFunction, Rule } from '../rule/schema';

export type GroupValue = string | number | boolean | null;

export interface Alert {
  id: string;
  rule_id: string;
  rule_version: number;
  rule_name: string;
  project_id: number;
  severity: Severity;
  status: 'open';
  title: string;
  summary: string;
  /** Canonical JSON array of the group values, in `group_by` order (`[]` for no grouping). */
  group_key: string;
  /** Group field → value as text (as the alerts topic carries it); a missing value is ''. */
  group_values: Record<string, string>;
  /** Inclusive start and exclusive end, in event time. */
  window_start_ms: number;
  window_end_ms: number;
  /** The count, distinct count or sum that crossed the threshold (1 for single-record rules). */
  value: number;
  threshold: number;
  first_seen_ms: number;
  last_seen_ms: number;
  /** Event time of the record that completed the detection. */
  detected_at_ms: number;
  evidence: Evidence;
  tags: string[];
  /**
   * Alerts of the same rule, project and group whose windows end less than this apart are the same
   * detection: max(window, suppress) for aggregating rules (rounded to whole buckets), `suppress`
   * for single-record rules (0: every record is a detection of its own).
   */
  dedupe_ms: number;
}

/** Whether two alerts are one detection (see `dedupe_ms`); alerts with the same id always are. */
export function sameDetection(
  a: Pick<Alert, 'id' | 'rule_id' | 'project_id' | 'group_key' | 'window_end_ms' | 'dedupe_ms'>,
  b: Pick<Alert, 'id' | 'rule_id' | 'project_id' | 'group_key' | 'window_end_ms' | 'dedupe_ms'>,
): boolean {
  if (a.id === b.id) return true;
  if (a.rule_id !== b.rule_id || a.project_id !== b.project_id || a.group_key !== b.group_key) return false;
  return Math.abs(a.window_end_ms - b.window_end_ms) < Math.max(a.dedupe_ms, b.dedupe_ms);
}

/** One-shot SHA-256 (`crypto.hash`, Node ≥ 20.12, is about twice as fast as createHash). */
const sha256Hex: (text: string) => string = typeof crypto.hash === 'function'
  ? (text) => crypto.hash('sha256', text, 'hex')
  : (text) => crypto.createHash('sha256').update(text).digest('hex');

export function alertId(ruleId: string, projectId: number, groupKey: string, windowIdentity: string): string {
  return sha256Hex(`vigil.alert.v1\n${ruleId}\n${projectId}\n${groupKey}\n${windowIdentity}`).slice(0, 32);
}

export function windowIdentity(startMs: number, endMs: number): string {
  return `window:${startMs}-${endMs}`;
}

export function recordWindowIdentity(recordIdentity: string): string {
  return `record:${recordIdentity}`;
}

/** The group values as the alerts topic carries them: text, '' for missing. */
export function textValues(values: Record<string, GroupValue>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) out[k] = v === null ? '' : String(v);
  return out;
}

function describeGroup(values: Record<string, GroupValue>): string {
  const parts = Object.entries(values).map(([k, v]) => `${k}=${v === null ? '(none)' : String(v)}`);
  return parts.join(', ');
}

export function alertTitle(rule: Rule, values: Record<string, GroupValue>): string {
  const group = describeGroup(values);
  return group.length > 0 ? `${rule.name}: ${group}` : rule.name;
}

/** 1234567 → "1,234,567" (without Intl, which costs microseconds per call). */
function formatNumber(n: number): string {
  if (!Number.isSafeInteger(n)) return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(6)));
  const digits = String(Math.abs(n));
  let out = '';
  for (let i = 0; i < digits.length; i++) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? `-${out}` : out;
}

export function aggregateSummary(rule: Rule, fn: AggregateFunction, field: string | null, value: number, records: number, values: Record<string, GroupValue>): string {
  const noun = rule.source === 'events' ? 'events' : 'flows';
  const window = formatDuration(durationOf(rule));
  const group = describeGroup(values);
  const what = fn === 'count'
    ? `${formatNumber(value)} matching ${noun}`
    : fn === 'distinct'
      ? `${formatNumber(value)} distinct ${field} over ${formatNumber(records)} ${noun}`
      : `${formatNumber(value)} ${field} over ${formatNumber(records)} ${noun}`;
  const threshold = rule.aggregate ? formatNumber(rule.aggregate.threshold) : '';
  return `${what} within ${window} (threshold ${threshold})${group.length > 0 ? ` for ${group}` : ''}`;
}

function durationOf(rule: Rule): number {
  return rule.aggregate ? parseDuration(rule.aggregate.window) ?? 0 : 0;
}

export function recordSummary(description: string, values: Record<string, GroupValue>): string {
  const group = describeGroup(values);
  return `${description} matched${group.length > 0 ? ` (${group})` : ''}`;
}
