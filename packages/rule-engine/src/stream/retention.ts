/**
 * When a group's state may be forgotten. A group is dropped only once no record that the engine
 * would still accept (not stale: event time ≥ stream clock − maxLag, the "horizon") can reach it:
 *
 * - aggregating rules: such a record lies more than a window (plus a bucket) after the group's
 *   newest record, so no window containing it holds any of the group's buckets, and more than the
 *   suppression spacing after the group's last alert window, so it cannot be suppressed by it;
 * - single-record rules: alert times older than horizon − suppress can no longer suppress
 *   anything and are dropped; a group with none left is forgotten.
 *
 * Forgetting therefore never changes a result; it only bounds memory.
 */
import type { Slot } from './reload';
import type { GroupState } from './state';

export interface Retention {
  forget: boolean;
  /** The group was trimmed but is kept (its serialised form changed). */
  trimmed: boolean;
}

const FORGET: Retention = { forget: true, trimmed: false };
const KEEP: Retention = { forget: false, trimmed: false };
const TRIMMED: Retention = { forget: false, trimmed: true };

export function retention(slot: Slot, g: GroupState, horizon: number): Retention {
  if (g.win !== null && slot.spec !== null) {
    const { windowMs, bucketMs } = slot.spec.geometry;
    const lastFired = g.win.fired[g.win.fired.length - 1];
    const idle = g.win.clock + windowMs + bucketMs < horizon
      && (lastFired === undefined || (lastFired + slot.spec.spacing + 1) * bucketMs <= horizon);
    return idle ? FORGET : KEEP;
  }
  if (g.fired !== null) {
    const keepAfter = horizon - slot.compiled.suppressMs;
    let cut = 0;
    while (cut < g.fired.length && (g.fired[cut] as number) < keepAfter) cut++;
    if (cut === 0) return KEEP;
    g.fired.splice(0, cut);
    return g.fired.length === 0 ? FORGET : TRIMMED;
  }
  return FORGET;
}
