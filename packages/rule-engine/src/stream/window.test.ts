import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  addDistinct, addToBucket, advanceClock, bucketRows, crossingAfterAdd, isLate, markFired, newWindowState, openWindowValues, SUPPRESSED, windowGeometry,
} from './window';
import type { Crossing, WindowSpec, WindowState } from './window';

const T0 = 1_700_000_000_000;

function spec(over: Partial<WindowSpec> = {}): WindowSpec {
  const geometry = windowGeometry(60_000);
  return { geometry, fn: 'count', threshold: 5, latenessMs: 30_000, spacing: 3_600, distinctCap: 10_000, ...over };
}

interface Item { t: number; v: number }

interface Run { state: WindowState | null; crossings: Crossing[]; late: number }

/** Feeds records in the given order, exactly as the engine does for one (rule, group). */
function run(s: WindowSpec, items: Item[]): Run {
  const out: Run = { state: null, crossings: [], late: 0 };
  for (const { t, v } of items) {
    if (out.state === null) out.state = newWindowState(s.fn, t);
    else if (isLate(out.state, t, s.latenessMs)) {
      out.late++;
      continue;
    }
    advanceClock(out.state, t, s);
    const b = addToBucket(out.state, s, t, s.fn === 'sum' ? v : 0, 0, 0);
    const c = s.fn === 'distinct' ? addDistinct(out.state, s, b, v) : crossingAfterAdd(out.state, s, b);
    if (c !== null && c !== SUPPRESSED) {
      markFired(out.state, c.end);
      out.crossings.push(c);
    }
  }
  return out;
}

/** Order-independent view of a state: buckets and, for distinct, each value's buckets. */
function canonical(st: WindowState | null): unknown {
  if (st === null) return null;
  const distinct = st.occ === null ? null : [...st.occ.entries()].map(([v, l]) => [String(v), l.join()]).sort();
  return { clock: st.clock, buckets: bucketRows(st), distinct };
}

/** Brute force: the largest aligned-window value over all records. */
function bestWindow(s: WindowSpec, items: Item[]): number {
  const { bucketMs, buckets } = s.geometry;
  let best = 0;
  const ends = new Set(items.map((i) => Math.floor(i.t / bucketMs)));
  for (const end of ends) {
    for (let e = end; e < end + buckets; e++) {
      const inside = items.filter((i) => Math.floor(i.t / bucketMs) > e - buckets && Math.floor(i.t / bucketMs) <= e);
      const value = s.fn === 'count' ? inside.length : s.fn === 'sum' ? inside.reduce((n, i) => n + i.v, 0) : new Set(inside.map((i) => i.v)).size;
      best = Math.max(best, value);
    }
  }
  return best;
}

/** Records, and an arrival order in which each one is delayed by at most `lateness`. */
function arrivals(lateness: number, maxItems = 30) {
  const item = fc.record({ t: fc.integer({ min: T0, max: T0 + 240_000 }), v: fc.integer({ min: 0, max: 9 }) });
  return fc.array(fc.tuple(item, fc.integer({ min: 0, max: lateness })), { minLength: 1, maxLength: maxItems }).map((pairs) => {
    const sorted = pairs.map(([it]) => it).sort((a, b) => a.t - b.t);
    const delayed = pairs.map(([it, d], i) => ({ it, key: it.t + d, i })).sort((a, b) => a.key - b.key || a.i - b.i).map((x) => x.it);
    return { sorted, delayed };
  });
}

const fns = fc.constantFrom<WindowSpec['fn']>('count', 'distinct', 'sum');

describe('window geometry', () => {
  it('cuts whole-second windows into 50 to 60 aligned buckets', () => {
    assert.deepEqual(windowGeometry(300_000), { windowMs: 300_000, bucketMs: 5_000, buckets: 60 });
    assert.deepEqual(windowGeometry(3_600_000), { windowMs: 3_600_000, bucketMs: 60_000, buckets: 60 });
    fc.assert(fc.property(fc.integer({ min: 1, max: 604_800 }), (seconds) => {
      const g = windowGeometry(seconds * 1_000);
      assert.ok(g.buckets >= 50 && g.buckets <= 60, `${seconds}s → ${g.buckets}`);
      assert.equal(g.bucketMs * g.buckets, seconds * 1_000);
      assert.ok(Number.isInteger(g.bucketMs));
    }));
  });
});

describe('window semantics', () => {
  it('arrival order within the allowed lateness changes neither the state nor whether and how often it fires', () => {
    fc.assert(fc.property(fns, fc.integer({ min: 1, max: 8 }), fc.constantFrom(0, 5_000, 30_000, 120_000), fc.boolean(), (fn, threshold, lateness, longSuppress) => {
      const s = spec({ fn, threshold, latenessMs: lateness, spacing: longSuppress ? 1_000 : 60 });
      fc.assert(fc.property(arrivals(lateness), ({ sorted, delayed }) => {
        const inOrder = run(s, sorted);
        const shuffled = run(s, delayed);
        assert.equal(inOrder.late, 0);
        assert.equal(shuffled.late, 0, 'a record within the lateness was dropped');
        assert.deepEqual(canonical(shuffled.state), canonical(inOrder.state));
        const crossed = bestWindow(s, sorted) >= threshold;
        assert.equal(inOrder.crossings.length > 0, crossed);
        assert.equal(shuffled.crossings.length > 0, crossed);
        if (longSuppress) {
          assert.equal(inOrder.crossings.length, crossed ? 1 : 0);
          assert.equal(shuffled.crossings.length, crossed ? 1 : 0);
        }
        if (fn !== 'sum') {
          for (const c of [inOrder.crossings[0], shuffled.crossings[0]]) if (c) assert.equal(c.value, threshold, 'count and distinct first cross exactly at the threshold');
        }
      }), { numRuns: 25 });
    }), { numRuns: 40 });
  });

  it('fires when the records fit in window minus one bucket, never when they span more than the window', () => {
    const s = spec({ threshold: 10 });
    const { windowMs, bucketMs } = s.geometry;
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: 0, max: windowMs - bucketMs }), (start, span) => {
      const times = Array.from({ length: 10 }, (_, i) => T0 + start + Math.round((span * i) / 9));
      assert.equal(run(s, times.map((t) => ({ t, v: 0 }))).crossings.length, 1, `span ${span}`);
    }));
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000_000 }), fc.integer({ min: windowMs, max: 3 * windowMs }), (start, span) => {
      const times = Array.from({ length: 10 }, (_, i) => T0 + start + Math.round((span * i) / 9));
      assert.equal(run(s, times.map((t) => ({ t, v: 0 }))).crossings.length, 0, `span ${span}`);
    }));
  });

  it('uses half-open, epoch-aligned buckets', () => {
    const s = spec({ threshold: 2 });
    const aligned = Math.ceil(T0 / 60_000) * 60_000;
    const same = run(s, [{ t: aligned, v: 0 }, { t: aligned + 59_999, v: 0 }]);
    assert.equal(same.crossings.length, 1);
    assert.equal(same.crossings[0]?.end, (aligned + 59_999 - (aligned + 59_999) % 1_000) / 1_000);
    assert.equal(run(s, [{ t: aligned - 1, v: 0 }, { t: aligned + 59_999, v: 0 }]).crossings.length, 0, '60 s apart, 61 buckets');
    assert.equal(run(s, [{ t: aligned - 1, v: 0 }, { t: aligned + 58_999, v: 0 }]).crossings.length, 1, 'exactly 60 buckets');
  });

  it('drops records older than the group clock minus the lateness and applies the rest', () => {
    const s = spec({ threshold: 3, latenessMs: 10_000 });
    const base = T0 + 100_000;
    const r = run(s, [{ t: base, v: 0 }, { t: base + 30_000, v: 0 }, { t: base + 19_999, v: 0 }, { t: base + 20_000, v: 0 }]);
    assert.equal(r.late, 1, 'the record 10.001 s behind is late');
    assert.equal(r.crossings.length, 1, 'the record exactly 10 s behind completes the window');
    fc.assert(fc.property(fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 1, max: 120_000 }), (lateness, behind) => {
      const sp = spec({ latenessMs: lateness, threshold: 100 });
      const res = run(sp, [{ t: base, v: 0 }, { t: base - behind, v: 0 }]);
      assert.equal(res.late, behind > lateness ? 1 : 0);
      const st = res.state as WindowState;
      assert.equal(bucketRows(st).reduce((n, row) => n + (row[1] as number), 0), behind > lateness ? 1 : 2);
    }));
  });

  it('keeps at most K + lateness/B buckets per group, however long the stream', () => {
    const s = spec({ latenessMs: 30_000, threshold: 1e9 });
    const items = Array.from({ length: 5_000 }, (_, i) => ({ t: T0 + i * 997, v: i % 7 }));
    const st = run({ ...s, fn: 'distinct' }, items).state as WindowState;
    const bound = s.geometry.buckets + Math.ceil(s.latenessMs / s.geometry.bucketMs) + 1;
    assert.ok(bucketRows(st).length <= bound, `${bucketRows(st).length} buckets`);
    for (const list of st.occ?.values() ?? []) assert.ok(list.length <= bound);
  });

  it('bounds distinct values per group, forgetting the least recently seen', () => {
    const s = spec({ fn: 'distinct', threshold: 1e9, distinctCap: 100, latenessMs: 0 });
    const items = Array.from({ length: 1_000 }, (_, i) => ({ t: T0 + i, v: i }));
    const st = run(s, items).state as WindowState;
    assert.ok((st.occ?.size ?? 0) <= 100);
    assert.ok(st.occ?.has(999) && !st.occ.has(0));
  });

  it('suppresses windows near one that fired, in both directions', () => {
    const s = spec({ threshold: 2, latenessMs: 3_600_000, spacing: 600 });
    const base = Math.ceil(T0 / 60_000) * 60_000;
    const r = run(s, [
      { t: base + 1_000_000, v: 0 }, { t: base + 1_000_500, v: 0 },
      { t: base + 500_000, v: 0 }, { t: base + 500_001, v: 0 },
      { t: base + 300_000, v: 0 }, { t: base + 300_001, v: 0 },
    ]);
    assert.deepEqual(r.crossings.map((c) => c.end * 1_000 - base), [1_000_000, 300_000], 'the pair 500 s earlier is within 600 s');
    const st = r.state as WindowState;
    assert.deepEqual(openWindowValues(st, s).get(Math.floor((base + 500_000) / 1_000)), 2);
  });
});
