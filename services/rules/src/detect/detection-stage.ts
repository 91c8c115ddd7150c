/**
 * The detection stage: batches of the re-partition topic → rule state, alerts, and the position
 * they correspond to, all in one PostgreSQL transaction per batch (task-store.ts).
 *
 * Per batch of partition p:
 * 1. the task of p is loaded from PostgreSQL if this worker does not hold it (first batch after an
 *    assignment, or after a failed write);
 * 2. each message below the task's position is skipped (already applied: the previous owner stored
 *    it but crashed before Kafka's commit); of the others, each entry whose origin was already
 *    applied is skipped (routed twice), and the rest are decoded — only the fields the rules they
 *    name read — and applied to those rules;
 * 3. alerts, changed state and the new position are written in one transaction, fenced by the
 *    position; new alerts queue their `alert.created` in the same transaction;
 * 4. the handler returns and the Kafka offset is committed.
 * Any failure discards the task's memory, so the retry starts again from what PostgreSQL holds.
 */
import type { KafkaMessage } from 'kafkajs';
import type { BatchContext } from '@vigil/kafka';
import { withTransaction, type DetectedAlert, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import { fieldsRead, type EngineOptions, type Rule, type Source } from '@vigil/rule-engine';
import type { RuleSet } from '../catalog/rule-catalog';
import { fieldSet, schemaIdOf, type FieldSet } from '../route/avro-projection';
import type { RecordDecoder } from '../route/record-decoding';
import { isPacked, readPacked, readRouted, type Origin } from '../route/repartition-message';
import type { RulesMetrics } from '../rules-metrics';
import { DetectionTask, type EngineTotals } from './detection-task';
import { loadTask, saveProgress } from './task-store';

export interface DetectionStageOptions {
  pool: Pool;
  topic: string;
  decoder: RecordDecoder;
  engineOptions: EngineOptions;
  rules: () => RuleSet;
  metrics: RulesMetrics;
  logger: Logger;
}

/** One routed record to apply: the entry of a packed message, or a message of the earlier format. */
interface Entry {
  source: Source;
  organizationId: number;
  ruleIds: readonly string[];
  origin: Origin;
  record: Buffer;
  /** The rule list's index within its message. */
  list: number;
}

/** A message at or past the task's position, read: its entries, or null when it is not a routed message. */
function entriesOf(message: KafkaMessage): Entry[] | null {
  const value = message.value;
  if (isPacked(value)) {
    const packed = readPacked(value);
    if (packed === null) return null;
    return packed.entries.map((e) => ({
      source: e.source,
      organizationId: e.organizationId,
      ruleIds: packed.ruleLists[e.list] as string[],
      origin: e.origin,
      record: packed.records[e.record] as Buffer,
      list: e.list,
    }));
  }
  const routed = readRouted(message.headers);
  if (routed === null || value === null) return null;
  return [{ ...routed, record: value, list: 0 }];
}

export class DetectionStage {
  private readonly tasks = new Map<number, DetectionTask>();
  private readonly loading = new Map<number, Promise<DetectionTask>>();
  private readonly reported = new Map<DetectionTask, EngineTotals>();
  /** Rules by organization and id, of the rule set `rulesRevision`. */
  private rulesById = new Map<number, Map<string, Rule>>();
  private rulesRevision = Number.NaN;
  /** Field sets by (source, organization, rule list), of the rule set `rulesRevision`. */
  private readonly fieldsByList = new Map<string, FieldSet>();

  constructor(private readonly o: DetectionStageOptions) {}

  /** Partitions whose state this worker holds in memory. */
  heldPartitions(): number[] {
    return [...this.tasks.keys()].sort((a, b) => a - b);
  }

  /** Installs a new rule set in every task held. */
  useRules(set: RuleSet): void {
    for (const task of this.tasks.values()) task.useRules(set);
  }

  /** Forgets the tasks of partitions this worker was not assigned (after a rebalance). */
  retain(partitions: ReadonlySet<number>): void {
    for (const p of [...this.tasks.keys()]) if (!partitions.has(p)) this.drop(p);
  }

  private drop(partition: number): void {
    const task = this.tasks.get(partition);
    if (task !== undefined) this.reported.delete(task);
    this.tasks.delete(partition);
    this.o.metrics.tasks.set(this.tasks.size);
  }

  private async task(partition: number): Promise<DetectionTask> {
    const held = this.tasks.get(partition);
    if (held !== undefined) return held;
    let pending = this.loading.get(partition);
    if (pending === undefined) {
      pending = loadTask(this.o.pool, this.o.topic, partition)
        .then((stored) => {
          const task = new DetectionTask(partition, this.o.engineOptions, stored, this.o.rules());
          this.tasks.set(partition, task);
          this.o.metrics.tasks.set(this.tasks.size);
          this.o.logger.info({ partition, next_offset: stored.nextOffset, entries: stored.entries.length }, 'detection task loaded');
          return task;
        })
        .finally(() => this.loading.delete(partition));
      this.loading.set(partition, pending);
    }
    return pending;
  }

  async handle(batch: BatchContext): Promise<void> {
    const task = await this.task(batch.partition);
    try {
      await this.process(task, batch);
    } catch (err) {
      this.drop(batch.partition);
      throw err;
    }
  }

  /** The fields the rules `ruleIds` of an organization read, engine fields included. */
  private fieldsFor(source: Source, organizationId: number, ruleIds: readonly string[]): FieldSet {
    const set = this.o.rules();
    if (set.revision !== this.rulesRevision) {
      this.rulesRevision = set.revision;
      this.rulesById = new Map([...set.byOrganization].map(([org, rules]) => [org, new Map(rules.map((r) => [r.id, r]))]));
      this.fieldsByList.clear();
    }
    const key = `${source}\u001f${organizationId}\u001f${ruleIds.length === 1 ? ruleIds[0] : ruleIds.join('\n')}`;
    let fields = this.fieldsByList.get(key);
    if (fields === undefined) {
      const byId = this.rulesById.get(organizationId);
      const rules: Rule[] = [];
      for (const id of ruleIds) {
        const rule = byId?.get(id);
        if (rule !== undefined) rules.push(rule);
      }
      fields = fieldSet(fieldsRead(source, rules));
      if (this.fieldsByList.size >= 4096) this.fieldsByList.clear();
      this.fieldsByList.set(key, fields);
    }
    return fields;
  }

  private async process(task: DetectionTask, batch: BatchContext): Promise<void> {
    const m = this.o.metrics;
    const alerts: DetectedAlert[] = [];
    const start = task.nextOffset;
    const drops = new Map<string, number>();
    const drop = (reason: string, n = 1) => drops.set(reason, (drops.get(reason) ?? 0) + n);
    const applied = { events: 0, flows: 0 };
    // Messages at or past the position, read; the schemas of their records known before any is applied.
    const fresh: Array<{ offset: number; entries: Entry[] | null }> = [];
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      if (offset < start) drop('already_applied', isPacked(message.value) ? (readPacked(message.value)?.entries.length ?? 1) : 1);
      else fresh.push({ offset, entries: entriesOf(message) });
    }
    await this.o.decoder.learn(recordsOf(fresh));
    for (const { offset, entries } of fresh) {
      task.nextOffset = offset + 1;
      if (entries === null) {
        drop('invalid_message');
        continue;
      }
      // The fields each rule list of this message needs (for the source and organization it was last used with).
      const fieldSets: Array<{ source: Source; organizationId: number; fields: FieldSet } | undefined> = [];
      for (const e of entries) {
        if (task.isRepeat(e.origin)) {
          drop('repeated_origin');
          continue;
        }
        let known = fieldSets[e.list];
        if (known === undefined || known.source !== e.source || known.organizationId !== e.organizationId) {
          fieldSets[e.list] = known = { source: e.source, organizationId: e.organizationId, fields: this.fieldsFor(e.source, e.organizationId, e.ruleIds) };
        }
        const fields = known.fields;
        const d = this.o.decoder.decode(e.source, e.record, fields);
        if (!d.ok) {
          // The routing stage decoded these very bytes under a schema the registry no longer has.
          drop('undecodable');
          continue;
        }
        const outcome = task.apply(e.source, e.organizationId, e.ruleIds, d.record, e.origin);
        applied[e.source]++;
        if (outcome.unknownRules > 0) drop('unknown_rule', outcome.unknownRules);
        for (const a of outcome.alerts) alerts.push(a);
      }
    }
    const changes = task.drain();
    if (task.nextOffset !== start || changes.length > 0) {
      const inserted = await withTransaction(this.o.pool, (db) =>
        saveProgress(db, {
          topic: this.o.topic,
          partition: task.partition,
          expectedOffset: task.storedOffset,
          nextOffset: task.nextOffset,
          origins: task.origins,
          applied: applied.events + applied.flows,
          changes,
          alerts,
        }),
      );
      task.storedOffset = task.nextOffset;
      if (inserted.created.length > 0) m.alerts.inc({ outcome: 'created' }, inserted.created.length);
      if (inserted.duplicates.length > 0) m.alerts.inc({ outcome: 'duplicate' }, inserted.duplicates.length);
      if (inserted.unknownProject.length > 0) m.alerts.inc({ outcome: 'unknown_project' }, inserted.unknownProject.length);
      const deleted = changes.filter((c) => c.value === null).length;
      if (changes.length - deleted > 0) m.stateWrites.inc({ kind: 'upsert' }, changes.length - deleted);
      if (deleted > 0) m.stateWrites.inc({ kind: 'delete' }, deleted);
      if (inserted.created.length > 0) {
        this.o.logger.info({ partition: task.partition, alerts: inserted.created.map((a) => ({ id: a.id, rule_id: a.rule_id, title: a.title })) }, 'alerts raised');
      }
    }
    for (const [reason, n] of drops) m.dropped.inc({ stage: 'detect', reason }, n);
    if (applied.events > 0) m.applied.inc({ source: 'events' }, applied.events);
    if (applied.flows > 0) m.applied.inc({ source: 'flows' }, applied.flows);
    this.reportTotals(task);
  }

  private reportTotals(task: DetectionTask): void {
    const now = task.totals();
    const before = this.reported.get(task) ?? { late: 0, stale: 0, suppressed: 0 };
    for (const reason of ['late', 'stale', 'suppressed'] as const) {
      const delta = now[reason] - before[reason];
      if (delta > 0) this.o.metrics.detections.inc({ reason }, delta);
    }
    this.reported.set(task, now);
  }
}

function* recordsOf(messages: ReadonlyArray<{ entries: Entry[] | null }>): Iterable<Buffer> {
  for (const { entries } of messages) if (entries !== null) for (const e of entries) yield e.record;
}
