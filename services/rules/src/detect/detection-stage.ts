/**
 * The detection stage: batches of the re-partition topic → rule state, alerts, and the position
 * they correspond to, all in one PostgreSQL transaction per batch (task-store.ts).
 *
 * Per batch of partition p:
 * 1. the task of p is loaded from PostgreSQL if this worker does not hold it (first batch after an
 *    assignment, or after a failed write);
 * 2. each message below the task's position is skipped (already applied: the previous owner stored
 *    it but crashed before Kafka's commit); each message whose origin was already applied is
 *    skipped (routed twice); the others are decoded and applied to the rules they name;
 * 3. alerts, changed state and the new position are written in one transaction, fenced by the
 *    position; new alerts queue their `alert.created` in the same transaction;
 * 4. the handler returns and the Kafka offset is committed.
 * Any failure discards the task's memory, so the retry starts again from what PostgreSQL holds.
 */
import type { BatchContext, TopicCodec } from '@vigil/kafka';
import { withTransaction, type DetectedAlert, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import type { EngineOptions, InputRecord } from '@vigil/rule-engine';
import type { RuleSet } from '../catalog/rule-catalog';
import { readRouted } from '../route/repartition-message';
import type { RulesMetrics } from '../rules-metrics';
import { DetectionTask, type EngineTotals } from './detection-task';
import { loadTask, saveProgress } from './task-store';

export interface DetectionStageOptions {
  pool: Pool;
  topic: string;
  codecs: { events: TopicCodec<'events'>; flows: TopicCodec<'flows'> };
  engineOptions: EngineOptions;
  rules: () => RuleSet;
  metrics: RulesMetrics;
  logger: Logger;
}

export class DetectionStage {
  private readonly tasks = new Map<number, DetectionTask>();
  private readonly loading = new Map<number, Promise<DetectionTask>>();
  private readonly reported = new Map<DetectionTask, EngineTotals>();

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

  private async process(task: DetectionTask, batch: BatchContext): Promise<void> {
    const m = this.o.metrics;
    const alerts: DetectedAlert[] = [];
    const start = task.nextOffset;
    const drops = new Map<string, number>();
    const drop = (reason: string, n = 1) => drops.set(reason, (drops.get(reason) ?? 0) + n);
    const applied = { events: 0, flows: 0 };
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      if (offset < task.nextOffset) {
        drop('already_applied');
        continue;
      }
      task.nextOffset = offset + 1;
      const routed = readRouted(message.headers);
      if (routed === null || message.value === null) {
        drop('invalid_message');
        continue;
      }
      if (task.isRepeat(routed.origin)) {
        drop('repeated_origin');
        continue;
      }
      let record: InputRecord;
      try {
        record = routed.source === 'events' ? await this.o.codecs.events.decode(message.value) : await this.o.codecs.flows.decode(message.value);
      } catch (err) {
        // The routing stage decoded these very bytes; failing now means the registry is unreachable.
        if ((err as { status?: number }).status === 404) {
          drop('undecodable');
          continue;
        }
        throw err;
      }
      const outcome = task.apply(routed.source, routed.organizationId, routed.ruleIds, record, routed.origin);
      applied[routed.source]++;
      if (outcome.unknownRules > 0) drop('unknown_rule', outcome.unknownRules);
      for (const a of outcome.alerts) alerts.push(a);
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
