/**
 * Event-time sliding windows over time buckets, per (rule, group).
 *
 * Geometry: a window of W ms is cut into K equal buckets of B = W / K ms (K is the largest divisor
 * of W not above 60; for whole-second windows 50 ≤ K ≤ 60). Bucket n holds event times
 * [n·B, (n+1)·B). The window "ending at bucket e" covers buckets e-K+1 … e, i.e. event times
 * [(e-K+1)·B, (e+1)·B), exactly W long and aligned to the Unix epoch, so its identity never depends
 * on when or in which order records arrived. N records within any span of W - B always share one
 * such window; N records never share one unless they lie within W.
 *
 * State per group: sparse, sorted buckets holding count, first/last event time, the summed field
 * and flow bytes/packets; for `distinct`, the buckets in which each value occurred. Memory per group
 * is bounded by K + ⌈lateness / B⌉ buckets (and, for distinct, a cap on the number of values).
 */

export interface WindowGeometry {
  windowMs: number;
  bucketMs: number;
  buckets: number;
}

export const MAX_BUCKETS = 60;

export function windowGeometry(windowMs: number): WindowGeometry {
  let k = Math.min(MAX_BUCKETS, windowMs);
  while (windowMs % k !== 0) k--;
  return { windowMs, bucketMs: windowMs / k, buckets: k };
}

export type DistinctValue = string | number | boolean;

/** Everything a window check needs besides the state. */
export interface WindowSpec {
  geometry: WindowGeometry;
  fn: 'count' | 'distinct' | 'sum';
  threshold: number;
  latenessMs: number;
  /** Two fired windows' ends are at least this many buckets apart (max of K and suppress / B). */
  spacing: number;
  /** Most values a distinct aggregation remembers per group. */
  distinctCap: number;
}

export interface WindowState {
  /** Newest event time accepted into this group. */
  clock: number;
  idx: number[];
  cnt: number[];
  lo: number[];
  hi: number[];
  sum: number[];
  bytes: number[];
  packets: number[];
  /** distinct: value → sorted buckets it occurred in. */
  occ: Map<DistinctValue, number[]> | null;
  /** distinct: cached distinct count per window end (derived; never serialised). */
  dc: Map<number, number> | null;
  /** Ends of windows that raised an alert. */
  fired: number[];
}

export interface Crossing { end: number; value: number }

/** Returned when windows reached the threshold but every one of them is suppressed. */
export const SUPPRESSED: Crossing = Object.freeze({ end: Number.NaN, value: Number.NaN });

export function newWindowState(fn: WindowSpec['fn'], clock: number): WindowState {
  return {
    clock, idx: [], cnt: [], lo: [], hi: [], sum: [], bytes: [], packets: [],
    occ: fn === 'distinct' ? new Map() : null, dc: fn === 'distinct' ? new Map() : null, fired: [],
  };
}

/** A record is late when it is older than the group's newest record by more than the lateness. */
export function isLate(st: WindowState, t: number, latenessMs: number): boolean {
  return t < st.clock - latenessMs;
}

/** First bucket that an accepted record can still fall into. */
export function lowestOpenBucket(st: WindowState, spec: WindowSpec): number {
  return Math.floor((st.clock - spec.latenessMs) / spec.geometry.bucketMs);
}

/** Index of the first element of sorted `a` that is ≥ x. */
function lowerBound(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Moves the group clock to `t` (if newer) and forgets what no open window can use. Returns true
 * when the group had buckets and all of them were forgotten (the group had gone idle).
 */
export function advanceClock(st: WindowState, t: number, spec: WindowSpec): boolean {
  if (t <= st.clock) return false;
  const { bucketMs, buckets: k } = spec.geometry;
  const before = Math.floor(st.clock / bucketMs);
  st.clock = t;
  if (Math.floor(t / bucketMs) === before) return false;
  const open = lowestOpenBucket(st, spec);
  const keepFrom = open - k + 1;
  const hadBuckets = st.idx.length > 0;
  const cut = lowerBound(st.idx, keepFrom);
  if (cut > 0) {
    st.idx.splice(0, cut); st.cnt.splice(0, cut); st.lo.splice(0, cut); st.hi.splice(0, cut);
    st.sum.splice(0, cut); st.bytes.splice(0, cut); st.packets.splice(0, cut);
  }
  const firedCut = lowerBound(st.fired, open - spec.spacing + 1);
  if (firedCut > 0) st.fired.splice(0, firedCut);
  if (st.occ !== null) {
    for (const [value, list] of st.occ) {
      const c = lowerBound(list, keepFrom);
      if (c === list.length) st.occ.delete(value);
      else if (c > 0) list.splice(0, c);
    }
  }
  if (st.dc !== null) for (const e of st.dc.keys()) if (e < open) st.dc.delete(e);
  return hadBuckets && st.idx.length === 0;
}

/** Adds one accepted record to its bucket; returns the bucket. */
export function addToBucket(st: WindowState, spec: WindowSpec, t: number, summand: number, bytes: number, packets: number): number {
  const b = Math.floor(t / spec.geometry.bucketMs);
  const n = st.idx.length;
  let i = n > 0 && (st.idx[n - 1] as number) < b ? n : lowerBound(st.idx, b);
  if (i === n || st.idx[i] !== b) {
    st.idx.splice(i, 0, b); st.cnt.splice(i, 0, 0); st.lo.splice(i, 0, t); st.hi.splice(i, 0, t);
    st.sum.splice(i, 0, 0); st.bytes.splice(i, 0, 0); st.packets.splice(i, 0, 0);
  }
  st.cnt[i] = (st.cnt[i] as number) + 1;
  if (t < (st.lo[i] as number)) st.lo[i] = t;
  if (t > (st.hi[i] as number)) st.hi[i] = t;
  st.sum[i] = (st.sum[i] as number) + summand;
  st.bytes[i] = (st.bytes[i] as number) + bytes;
  st.packets[i] = (st.packets[i] as number) + packets;
  return b;
}

function isSuppressed(st: WindowState, e: number, spacing: number): boolean {
  for (const f of st.fired) if (Math.abs(e - f) < spacing) return true;
  return false;
}

/** The newest bucket any window may end at: later windows only lose buckets. */
function newestEnd(st: WindowState, spec: WindowSpec): number {
  return Math.floor(st.clock / spec.geometry.bucketMs);
}

/**
 * After a record was added to bucket `b` of a count or sum aggregation: the earliest window
 * containing `b` whose value reached the threshold and that is not suppressed, or null.
 */
export function crossingAfterAdd(st: WindowState, spec: WindowSpec, b: number): Crossing | null {
  const k = spec.geometry.buckets;
  const last = Math.min(b + k - 1, newestEnd(st, spec));
  const col = spec.fn === 'sum' ? st.sum : st.cnt;
  const idx = st.idx;
  let leave = lowerBound(idx, b - k + 1);
  let enter = leave;
  let value = 0;
  while (enter < idx.length && (idx[enter] as number) <= b) value += col[enter++] as number;
  let suppressed = false;
  for (let e = b; e <= last; e++) {
    if (e > b) {
      if (enter < idx.length && idx[enter] === e) value += col[enter++] as number;
      if (leave < idx.length && idx[leave] === e - k) value -= col[leave++] as number;
    }
    if (value >= spec.threshold) {
      if (!isSuppressed(st, e, spec.spacing)) return { end: e, value };
      suppressed = true;
    }
  }
  return suppressed ? SUPPRESSED : null;
}

function occursWithin(list: number[], from: number, to: number): boolean {
  const i = lowerBound(list, from);
  return i < list.length && (list[i] as number) <= to;
}

function distinctIn(st: WindowState, k: number, e: number): number {
  let n = 0;
  for (const list of (st.occ as Map<DistinctValue, number[]>).values()) if (occursWithin(list, e - k + 1, e)) n++;
  return n;
}

/** Forgets the values whose latest occurrence is oldest until `cap` remain (ties: first seen first). */
function enforceCap(st: WindowState, cap: number): void {
  const occ = st.occ as Map<DistinctValue, number[]>;
  if (occ.size <= cap) return;
  const target = Math.max(1, Math.floor(cap * 0.9));
  const byAge = [...occ.entries()].map(([v, l], order) => ({ v, latest: l[l.length - 1] as number, order }));
  byAge.sort((a, b) => a.latest - b.latest || a.order - b.order);
  let i = 0;
  while (occ.size > target && i < byAge.length) occ.delete((byAge[i++] as { v: DistinctValue }).v);
  (st.dc as Map<number, number>).clear();
}

/**
 * Records that `value` occurred in bucket `b` of a distinct aggregation and returns the earliest
 * window whose distinct count thereby reached the threshold and is not suppressed, or null.
 */
export function addDistinct(st: WindowState, spec: WindowSpec, b: number, value: DistinctValue): Crossing | null {
  const occ = st.occ as Map<DistinctValue, number[]>;
  const dc = st.dc as Map<number, number>;
  const k = spec.geometry.buckets;
  let list = occ.get(value);
  let prev = Number.NEGATIVE_INFINITY;
  let next = Number.POSITIVE_INFINITY;
  if (list === undefined) {
    list = [b];
    occ.set(value, list);
  } else {
    const i = lowerBound(list, b);
    if (list[i] === b) return null;
    if (i > 0) prev = list[i - 1] as number;
    if (i < list.length) next = list[i] as number;
    list.splice(i, 0, b);
  }
  const from = Math.max(b, prev + k);
  const to = Math.min(b + k - 1, next - 1, newestEnd(st, spec));
  let crossing: Crossing | null = null;
  let suppressed = false;
  for (let e = from; e <= to; e++) {
    const cached = dc.get(e);
    const n = cached === undefined ? distinctIn(st, k, e) : cached + 1;
    dc.set(e, n);
    if (crossing === null && n >= spec.threshold) {
      if (!isSuppressed(st, e, spec.spacing)) crossing = { end: e, value: n };
      else suppressed = true;
    }
  }
  if (occ.size > spec.distinctCap) enforceCap(st, spec.distinctCap);
  return crossing ?? (suppressed ? SUPPRESSED : null);
}

export function markFired(st: WindowState, end: number): void {
  st.fired.splice(lowerBound(st.fired, end), 0, end);
}

export interface WindowTotals {
  startMs: number;
  endMs: number;
  records: number;
  sum: number;
  bytes: number;
  packets: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

/** Totals of the window ending at bucket `end`. */
export function windowTotals(st: WindowState, g: WindowGeometry, end: number): WindowTotals {
  const from = end - g.buckets + 1;
  const out: WindowTotals = {
    startMs: from * g.bucketMs, endMs: (end + 1) * g.bucketMs, records: 0, sum: 0, bytes: 0, packets: 0,
    firstSeenMs: Number.POSITIVE_INFINITY, lastSeenMs: Number.NEGATIVE_INFINITY,
  };
  for (let i = lowerBound(st.idx, from); i < st.idx.length && (st.idx[i] as number) <= end; i++) {
    out.records += st.cnt[i] as number;
    out.sum += st.sum[i] as number;
    out.bytes += st.bytes[i] as number;
    out.packets += st.packets[i] as number;
    if ((st.lo[i] as number) < out.firstSeenMs) out.firstSeenMs = st.lo[i] as number;
    if ((st.hi[i] as number) > out.lastSeenMs) out.lastSeenMs = st.hi[i] as number;
  }
  return out;
}

/** Value of every window still open, by end bucket (for tests and diagnostics). */
export function openWindowValues(st: WindowState, spec: WindowSpec): Map<number, number> {
  const out = new Map<number, number>();
  const k = spec.geometry.buckets;
  const newest = newestEnd(st, spec);
  for (let e = lowestOpenBucket(st, spec); e <= newest; e++) {
    let v: number;
    if (spec.fn === 'distinct') v = distinctIn(st, k, e);
    else {
      const t = windowTotals(st, spec.geometry, e);
      v = spec.fn === 'sum' ? t.sum : t.records;
    }
    if (v > 0) out.set(e, v);
  }
  return out;
}
