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

/** Layout of one bucket in `WindowState.b`: [bucket, records, first ms, last ms, sum, bytes, packets]. */
export const BUCKET_FIELDS = 7;
const IDX = 0;
const CNT = 1;
const LO = 2;
const HI = 3;
const SUM = 4;
const BYTES = 5;
const PACKETS = 6;

export interface WindowState {
  /** Newest event time accepted into this group. */
  clock: number;
  /** Non-empty buckets in ascending order, BUCKET_FIELDS numbers each (one flat array per group). */
  b: number[];
  /** distinct: value → sorted buckets it occurred in. */
  occ: Map<DistinctValue, number[]> | null;
  /**
   * distinct: cached distinct count per window end (derived; never serialised). Created only once
   * a group holds more than CACHE_FROM values; below that, counting afresh is as cheap.
   */
  dc: Map<number, number> | null;
  /** Ends of windows that raised an alert (shared empty array until the first). */
  fired: number[];
}

export interface Crossing { end: number; value: number }

/** Returned when windows reached the threshold but every one of them is suppressed. */
export const SUPPRESSED: Crossing = Object.freeze({ end: Number.NaN, value: Number.NaN });

const CACHE_FROM = 32;
const NONE_FIRED: number[] = Object.freeze([]) as unknown as number[];

export function newWindowState(fn: WindowSpec['fn'], clock: number): WindowState {
  return { clock, b: [], occ: fn === 'distinct' ? new Map() : null, dc: null, fired: NONE_FIRED };
}

/** A record is late when it is older than the group's newest record by more than the lateness. */
export function isLate(st: WindowState, t: number, latenessMs: number): boolean {
  return t < st.clock - latenessMs;
}

/** First bucket that an accepted record can still fall into. */
export function lowestOpenBucket(st: WindowState, spec: WindowSpec): number {
  return Math.floor((st.clock - spec.latenessMs) / spec.geometry.bucketMs);
}

/** Position (in buckets) of the first bucket whose index is ≥ x. */
function bucketLowerBound(b: number[], x: number): number {
  let lo = 0;
  let hi = b.length / BUCKET_FIELDS;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((b[mid * BUCKET_FIELDS] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The buckets as rows of BUCKET_FIELDS numbers (for serialisation and tests). */
export function bucketRows(st: WindowState): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < st.b.length; i += BUCKET_FIELDS) rows.push(st.b.slice(i, i + BUCKET_FIELDS));
  return rows;
}

/** Removes the first `n` elements (splice is a memmove in V8; copyWithin is ~10× slower). */
function dropFront(a: number[], n: number): void {
  if (n > 0) a.splice(0, n);
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
  const hadBuckets = st.b.length > 0;
  const cut = bucketLowerBound(st.b, keepFrom);
  dropFront(st.b, cut * BUCKET_FIELDS);
  if (st.fired.length > 0) dropFront(st.fired, lowerBound(st.fired, open - spec.spacing + 1));
  // Every occurrence lies in a bucket of `b`, so only dropping buckets can drop occurrences.
  if (st.occ !== null && cut > 0) {
    for (const [value, list] of st.occ) {
      const c = lowerBound(list, keepFrom);
      if (c === list.length) st.occ.delete(value);
      else dropFront(list, c);
    }
  }
  if (st.dc !== null) for (const e of st.dc.keys()) if (e < open) st.dc.delete(e);
  return hadBuckets && st.b.length === 0;
}

/** Adds one accepted record to its bucket; returns the bucket. */
export function addToBucket(st: WindowState, spec: WindowSpec, t: number, summand: number, bytes: number, packets: number): number {
  const bucket = Math.floor(t / spec.geometry.bucketMs);
  const b = st.b;
  const n = b.length;
  let at: number;
  if (n > 0 && b[n - BUCKET_FIELDS] === bucket) {
    at = n - BUCKET_FIELDS;
  } else {
    at = n > 0 && (b[n - BUCKET_FIELDS] as number) < bucket ? n : bucketLowerBound(b, bucket) * BUCKET_FIELDS;
    if (at === n) b.push(bucket, 0, t, t, 0, 0, 0);
    else if (b[at] !== bucket) b.splice(at, 0, bucket, 0, t, t, 0, 0, 0);
  }
  b[at + CNT] = (b[at + CNT] as number) + 1;
  if (t < (b[at + LO] as number)) b[at + LO] = t;
  if (t > (b[at + HI] as number)) b[at + HI] = t;
  if (summand !== 0) b[at + SUM] = (b[at + SUM] as number) + summand;
  if (bytes !== 0) b[at + BYTES] = (b[at + BYTES] as number) + bytes;
  if (packets !== 0) b[at + PACKETS] = (b[at + PACKETS] as number) + packets;
  return bucket;
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
  const col = spec.fn === 'sum' ? SUM : CNT;
  const buckets = st.b;
  const end = buckets.length;
  let leave = bucketLowerBound(buckets, b - k + 1) * BUCKET_FIELDS;
  let enter = leave;
  let value = 0;
  while (enter < end && (buckets[enter] as number) <= b) {
    value += buckets[enter + col] as number;
    enter += BUCKET_FIELDS;
  }
  let suppressed = false;
  for (let e = b; e <= last; e++) {
    if (e > b) {
      if (enter < end && buckets[enter] === e) {
        value += buckets[enter + col] as number;
        enter += BUCKET_FIELDS;
      }
      if (leave < end && buckets[leave] === e - k) {
        value -= buckets[leave + col] as number;
        leave += BUCKET_FIELDS;
      }
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

/** Up to `limit` of the distinct values in the window ending at `e`, in ascending order. */
export function distinctValuesIn(st: WindowState, k: number, e: number, limit: number): DistinctValue[] {
  const out: DistinctValue[] = [];
  if (st.occ === null) return out;
  for (const [v, list] of st.occ) if (occursWithin(list, e - k + 1, e)) out.push(v);
  out.sort((a, b) => (typeof a === typeof b ? (a < b ? -1 : a > b ? 1 : 0) : typeof a < typeof b ? -1 : 1));
  return out.slice(0, limit);
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
  st.dc?.clear();
}

/**
 * Records that `value` occurred in bucket `b` of a distinct aggregation and returns the earliest
 * window whose distinct count thereby reached the threshold and is not suppressed, or null.
 */
export function addDistinct(st: WindowState, spec: WindowSpec, b: number, value: DistinctValue): Crossing | null {
  const occ = st.occ as Map<DistinctValue, number[]>;
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
  if (st.dc === null && occ.size > CACHE_FROM) st.dc = new Map();
  const dc = st.dc;
  const from = Math.max(b, prev + k);
  const to = Math.min(b + k - 1, next - 1, newestEnd(st, spec));
  let crossing: Crossing | null = null;
  let suppressed = false;
  for (let e = from; e <= to; e++) {
    let n: number;
    if (dc === null) {
      n = distinctIn(st, k, e);
    } else {
      const cached = dc.get(e);
      n = cached === undefined ? distinctIn(st, k, e) : cached + 1;
      dc.set(e, n);
    }
    if (crossing === null && n >= spec.threshold) {
      if (!isSuppressed(st, e, spec.spacing)) crossing = { end: e, value: n };
      else suppressed = true;
    }
  }
  if (occ.size > spec.distinctCap) enforceCap(st, spec.distinctCap);
  return crossing ?? (suppressed ? SUPPRESSED : null);
}

export function markFired(st: WindowState, end: number): void {
  if (st.fired === NONE_FIRED) st.fired = [end];
  else st.fired.splice(lowerBound(st.fired, end), 0, end);
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
  const b = st.b;
  for (let i = bucketLowerBound(b, from) * BUCKET_FIELDS; i < b.length && (b[i + IDX] as number) <= end; i += BUCKET_FIELDS) {
    out.records += b[i + CNT] as number;
    out.sum += b[i + SUM] as number;
    out.bytes += b[i + BYTES] as number;
    out.packets += b[i + PACKETS] as number;
    if ((b[i + LO] as number) < out.firstSeenMs) out.firstSeenMs = b[i + LO] as number;
    if ((b[i + HI] as number) > out.lastSeenMs) out.lastSeenMs = b[i + HI] as number;
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
