/**
 * What an alert shows as proof. Event rules keep the ids and times of the group's last N matching
 * events and report those inside the alert's window. Flow rules report the window's flow, byte and
 * packet totals (exact, from the window buckets) and the most frequent destination ports and
 * addresses, counted with the Space-Saving algorithm over a bounded table of 16 entries since the
 * group's previous alert or since it was last idle (no bucket left in any open window); those
 * counts are upper bounds. Distinct aggregations also report up to 20 of the window's distinct
 * values (the ports scanned, the user names tried).
 */
import type { EventRecord, FlowRecord, Source } from '../records';

export const TRACKED_TOP = 16;
export const REPORTED_TOP = 5;

export interface TopEntry<T> { value: T; count: number }

export interface FlowSample {
  src_addr: string;
  dst_addr: string;
  src_port: number;
  dst_port: number;
  protocol: number;
  bytes: number;
  packets: number;
  flow_start_ms: number;
  flow_end_ms: number;
  exporter: string;
}

/** For distinct aggregations: up to DISTINCT_SAMPLE of the distinct values in the window, ascending. */
export type DistinctSample = Array<string | number | boolean>;

export const DISTINCT_SAMPLE = 20;

export interface EventEvidence {
  kind: 'events';
  event_ids: string[];
  distinct_values?: DistinctSample;
}

export interface FlowEvidence {
  kind: 'flows';
  flows: number;
  bytes: number;
  packets: number;
  top_dst_ports: Array<TopEntry<number>>;
  top_dst_addrs: Array<TopEntry<string>>;
  /** The flow itself, for alerts raised by a single flow. */
  flow: FlowSample | null;
  distinct_values?: DistinctSample;
}

export type Evidence = EventEvidence | FlowEvidence;

/** A Space-Saving table as one flat array: key, count, key, count, … (at most TRACKED_TOP keys). */
type TopTable<T> = Array<T | number>;

export interface EvidenceState {
  ids: string[];
  times: number[];
  ports: TopTable<number> | null;
  addrs: TopTable<string> | null;
}

export function newEvidence(source: Source): EvidenceState {
  return source === 'events'
    ? { ids: [], times: [], ports: null, addrs: null }
    : { ids: [], times: [], ports: [], addrs: [] };
}

export function noteEvent(ev: EvidenceState, id: string, t: number, limit: number): void {
  if (limit <= 0) return;
  ev.ids.push(id);
  ev.times.push(t);
  if (ev.ids.length > limit) {
    ev.ids.shift();
    ev.times.shift();
  }
}

function spaceSaving<T>(table: TopTable<T>, key: T): void {
  let min = 0;
  for (let i = 0; i < table.length; i += 2) {
    if (table[i] === key) {
      table[i + 1] = (table[i + 1] as number) + 1;
      return;
    }
    if ((table[i + 1] as number) < (table[min + 1] as number)) min = i;
  }
  if (table.length < 2 * TRACKED_TOP) {
    table.push(key, 1);
    return;
  }
  table[min] = key;
  table[min + 1] = (table[min + 1] as number) + 1;
}

export function noteFlow(ev: EvidenceState, f: FlowRecord): void {
  if (ev.ports !== null && typeof f.dst_port === 'number') spaceSaving(ev.ports, f.dst_port);
  if (ev.addrs !== null && typeof f.dst_addr === 'string') spaceSaving(ev.addrs, f.dst_addr);
}

export function resetTops(ev: EvidenceState): void {
  if (ev.ports !== null) ev.ports.length = 0;
  if (ev.addrs !== null) ev.addrs.length = 0;
}

/** The table's entries as [key, count] pairs, in table order. */
export function topPairs<T>(table: TopTable<T> | null): Array<[T, number]> | null {
  if (table === null) return null;
  const out: Array<[T, number]> = [];
  for (let i = 0; i < table.length; i += 2) out.push([table[i] as T, table[i + 1] as number]);
  return out;
}

export function topFromPairs<T>(pairs: Array<[T, number]>): TopTable<T> {
  return pairs.slice(0, TRACKED_TOP).flat();
}

function top<T extends string | number>(table: TopTable<T> | null): Array<TopEntry<T>> {
  return (topPairs(table) ?? [])
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, REPORTED_TOP)
    .map(([value, count]) => ({ value, count }));
}

/** Evidence of an aggregated alert over event times [startMs, endMs). */
export function windowEvidence(source: Source, ev: EvidenceState, startMs: number, endMs: number, totals: { records: number; bytes: number; packets: number }, distinct: DistinctSample | null): Evidence {
  const sample = distinct === null ? {} : { distinct_values: distinct };
  if (source === 'events') {
    const ids: string[] = [];
    for (let i = 0; i < ev.ids.length; i++) {
      const t = ev.times[i] as number;
      if (t >= startMs && t < endMs) ids.push(ev.ids[i] as string);
    }
    return { kind: 'events', event_ids: ids, ...sample };
  }
  return {
    kind: 'flows', flows: totals.records, bytes: totals.bytes, packets: totals.packets,
    top_dst_ports: top(ev.ports), top_dst_addrs: top(ev.addrs), flow: null, ...sample,
  };
}

/** Evidence of an alert raised by one record. */
export function recordEvidence(source: Source, record: EventRecord | FlowRecord): Evidence {
  if (source === 'events') return { kind: 'events', event_ids: [(record as EventRecord).event_id] };
  const f = record as FlowRecord;
  return {
    kind: 'flows', flows: 1, bytes: f.bytes, packets: f.packets,
    top_dst_ports: [{ value: f.dst_port, count: 1 }], top_dst_addrs: [{ value: f.dst_addr, count: 1 }],
    flow: {
      src_addr: f.src_addr, dst_addr: f.dst_addr, src_port: f.src_port, dst_port: f.dst_port, protocol: f.protocol,
      bytes: f.bytes, packets: f.packets, flow_start_ms: f.flow_start_ms, flow_end_ms: f.flow_end_ms, exporter: f.exporter,
    },
  };
}
