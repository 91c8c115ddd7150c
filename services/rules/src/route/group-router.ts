/**
 * The routing stage: batches of the input partitions (events, flows) → entries on the re-partition
 * topic, one per record and group key, addressed to the partition that holds those groups' state
 * and packed into one message per partition and round (repartition-message.ts). What it does to a
 * record depends only on the record and the rules. Records are decoded projected to the fields the
 * rules read (route/avro-projection.ts).
 *
 * Order. The detection stage judges lateness per group, and a group's records come from every
 * input partition (ingest keys events by event id). Batches handed over together — one fetch from
 * the broker, all partitions at once — are therefore merged in event-time order before they are
 * routed, each partition kept in offset order (as Kafka Streams picks the partition whose next
 * record is the oldest). A backlog read after downtime, or a burst produced at once, so reaches
 * each group in time order rather than partition by partition, and within the allowed lateness
 * nothing is late.
 *
 * Pipelined: a round is prepared (decoded, evaluated, its messages built) and handed back as the
 * step that produces them; the consumer fetches and prepares the next round while that step awaits
 * Kafka's acknowledgements, and runs the steps one at a time in round order, so every group still
 * receives its records in routing order. The input offsets of a round are committed only after
 * Kafka acknowledged every message produced for it (acks=all) and poison records are in the
 * dead-letter topic. A crash before that routes them again; the detection stage recognises the
 * repeats by their origin. A failed step fails the steps after it unrun (runConsumer's
 * `prepareBatch`), so nothing is produced past a gap.
 */
import type { KafkaMessage, Message } from 'kafkajs';
import type { BatchContext, BatchingProducer } from '@vigil/kafka';
import { eventTimeMs, type InputRecord, type Source } from '@vigil/rule-engine';
import { sendBounded } from '../bounded-send';
import type { ProjectDirectory } from '../catalog/project-directory';
import type { DeadLetters, Poison } from '../dead-letters';
import type { RulesMetrics } from '../rules-metrics';
import type { RecordDecoder } from './record-decoding';
import { PackWriter, partitionFor, repartitionKey } from './repartition-message';
import type { RoutingTable } from './routing-table';

export interface GroupRouterOptions {
  topics: { events: string; flows: string };
  repartition: { topic: string; partitions: number };
  decoder: RecordDecoder;
  directory: ProjectDirectory;
  routing: RoutingTable;
  producer: BatchingProducer;
  deadLetters: DeadLetters;
  metrics: RulesMetrics;
  /** How long the first batch of a round waits for the others of the same fetch (default 5 ms). */
  mergeWindowMs?: number;
}

/** A record of the round, evaluated: where it came from, its event time and the entries it makes. */
interface Routed {
  partition: number;
  offset: number;
  value: Buffer;
  time: number;
  organizationId: number;
  /** Per group key, the rules that group the record under it (in the order the rules matched). */
  entries: Map<string, string[]>;
}

/** Produces a prepared round and resolves once it is durable. */
export type RoundStep = () => Promise<void>;

interface Waiting {
  batch: BatchContext;
  resolve: (step: RoundStep) => void;
  reject: (err: unknown) => void;
}

/** Same clamping as the engine's, so the merge order is the order the engine reasons in. */
const MAX_FUTURE_SKEW_MS = 60_000;

export function createGroupRouter(o: GroupRouterOptions): (batch: BatchContext) => Promise<RoundStep> {
  const sourceOf = (topic: string): Source => (topic === o.topics.events ? 'events' : 'flows');
  let round: Waiting[] = [];
  let timer: NodeJS.Timeout | null = null;

  const flush = () => {
    timer = null;
    const taken = round;
    round = [];
    prepareRound(o, sourceOf, taken.map((w) => w.batch)).then(
      (step) => taken.forEach((w) => w.resolve(step)),
      (err: unknown) => taken.forEach((w) => w.reject(err)),
    );
  };

  return (batch) =>
    new Promise<RoundStep>((resolve, reject) => {
      round.push({ batch, resolve, reject });
      timer ??= setTimeout(flush, o.mergeWindowMs ?? 5);
    });
}

/**
 * Decodes and evaluates each batch as it comes (a decoded record is dropped as soon as its groups
 * are known, so a round holds only what it will produce), then merges the round's partitions by
 * event time and packs the entries per destination partition in that order.
 */
async function prepareRound(o: GroupRouterOptions, sourceOf: (topic: string) => Source, batches: readonly BatchContext[]): Promise<RoundStep> {
  await o.decoder.learn(messageValues(batches));
  const bySource: Record<Source, Routed[][]> = { events: [], flows: [] };
  const poison: Array<{ topic: string; partition: number; items: Poison[] }> = [];
  const counts: Record<Source, RouteCounts> = { events: newCounts(), flows: newCounts() };
  for (const batch of batches) {
    const source = sourceOf(batch.topic);
    const fields = o.routing.fields(source);
    const items: Poison[] = [];
    const decoded: Array<{ message: KafkaMessage; record: InputRecord }> = [];
    for (const message of batch.messages) {
      const d = o.decoder.decode(source, message.value, fields);
      if (d.ok) decoded.push({ message, record: d.record });
      else items.push({ message, reason: d.reason, error: d.error });
    }
    if (items.length > 0) poison.push({ topic: batch.topic, partition: batch.partition, items });
    const projects = new Set<number>();
    for (const d of decoded) projects.add(d.record.project_id);
    await o.directory.resolve(projects);
    bySource[source].push(evaluate(o, source, batch.partition, decoded, counts[source]));
    // A round is many batches of CPU work: let I/O that completed meanwhile (the detection stage's
    // transactions, Kafka's acknowledgements) be handled between them.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const packs = new Map<number, PackWriter>();
  for (const source of ['events', 'flows'] as const) pack(o, source, mergeByTime(bySource[source]), packs);
  const out: Message[] = [];
  for (const [partition, writer] of packs) {
    writer.flush();
    for (const value of writer.messages) out.push({ partition, value });
  }
  let produced: Promise<void> | null = null;
  // Shared by the round's batches: runs once.
  return () => (produced ??= produceRound(o, out, poison, counts));
}

function* messageValues(batches: readonly BatchContext[]): Iterable<Buffer | null> {
  for (const batch of batches) for (const m of batch.messages) yield m.value;
}

async function produceRound(o: GroupRouterOptions, out: readonly Message[], poison: ReadonlyArray<{ topic: string; partition: number; items: Poison[] }>, counts: Record<Source, RouteCounts>): Promise<void> {
  for (const p of poison) await o.deadLetters.send(p.topic, p.partition, p.items);
  await sendBounded(o.producer, o.repartition.topic, out);

  // Counted once durable, so "routed" never runs ahead of what the detection stage can read.
  for (const source of ['events', 'flows'] as const) {
    const c = counts[source];
    if (c.routed > 0) o.metrics.routed.inc({ source, outcome: 'routed' }, c.routed);
    if (c.unmatched > 0) o.metrics.routed.inc({ source, outcome: 'unmatched' }, c.unmatched);
    if (c.unknownProject > 0) o.metrics.dropped.inc({ stage: 'route', reason: 'unknown_project' }, c.unknownProject);
    if (c.entries > 0) o.metrics.repartitioned.inc({ source }, c.entries);
  }
  for (const p of poison) for (const item of p.items) o.metrics.dropped.inc({ stage: 'route', reason: item.reason });
}

/**
 * Merges partitions' records, each partition kept in offset order, by always taking the head with
 * the oldest event time (ties: the earlier partition of the round). Offset order within a partition
 * is what lets the detection stage tell a repeated record from a new one.
 */
export function mergeByTime<T extends { time: number }>(lists: readonly (readonly T[])[]): T[] {
  const live = lists.filter((l) => l.length > 0);
  if (live.length <= 1) return [...(live[0] ?? [])];
  const heads = live.map(() => 0);
  const out: T[] = [];
  for (;;) {
    let best = -1;
    let bestTime = Number.POSITIVE_INFINITY;
    for (let i = 0; i < live.length; i++) {
      const item = (live[i] as readonly T[])[heads[i] as number];
      if (item !== undefined && (best === -1 || item.time < bestTime)) {
        best = i;
        bestTime = item.time;
      }
    }
    if (best === -1) return out;
    out.push((live[best] as readonly T[])[heads[best] as number] as T);
    heads[best] = (heads[best] as number) + 1;
  }
}

interface RouteCounts {
  routed: number;
  unmatched: number;
  unknownProject: number;
  entries: number;
}

const newCounts = (): RouteCounts => ({ routed: 0, unmatched: 0, unknownProject: 0, entries: 0 });

/** The groups of each record of one input partition's batch (kept in offset order); unmatched records are left out. */
function evaluate(o: GroupRouterOptions, source: Source, partition: number, decoded: ReadonlyArray<{ message: KafkaMessage; record: InputRecord }>, counts: RouteCounts): Routed[] {
  const out: Routed[] = [];
  for (const { message, record } of decoded) {
    const org = o.directory.organizationOf(record.project_id);
    if (org === null) {
      counts.unknownProject++;
      continue;
    }
    const pairs = o.routing.groupsOf(org, source, record);
    if (pairs.length === 0) {
      counts.unmatched++;
      continue;
    }
    counts.routed++;
    // Rules that group the record under the same values share one entry.
    const entries = new Map<string, string[]>();
    for (const p of pairs) {
      const key = repartitionKey(p.project_id, p.group_key);
      const rules = entries.get(key);
      if (rules === undefined) entries.set(key, [p.rule_id]);
      else rules.push(p.rule_id);
    }
    counts.entries += entries.size;
    out.push({ partition, offset: Number(message.offset), value: message.value as Buffer, time: eventTimeMs(source, record, MAX_FUTURE_SKEW_MS), organizationId: org, entries });
  }
  return out;
}

/** Packs the entries of records (merged, in routing order) per destination partition. */
function pack(o: GroupRouterOptions, source: Source, records: readonly Routed[], packs: Map<number, PackWriter>): void {
  for (const { partition, offset, value, organizationId, entries } of records) {
    let index = 0;
    for (const [key, ruleIds] of entries) {
      const target = partitionFor(key, o.repartition.partitions);
      let writer = packs.get(target);
      if (writer === undefined) packs.set(target, (writer = new PackWriter()));
      writer.add({ source, organizationId, ruleIds, inputPartition: partition, offset, index: index++, record: value });
    }
  }
}
