import type { Queue } from 'bullmq';
import type { KafkaMessage } from 'kafkajs';
import { alertRecord, type AlertRecord } from '@vigil/contracts';
import { insertMessages, projectOrganizations, subscriptionsForProjects, type MessageInput, type Pool, type PendingMessage, type WebhookEventInput, type WebhookSubscription } from '@vigil/db';
import type { BatchContext, BatchingProducer, TopicCodec } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import { messageId } from '@vigil/webhook-signing';
import type { DeliveryMetrics } from '../delivery-metrics';
import { enqueueMessages, type DeliveryJobData, type EnqueueOptions } from '../queue/delivery-queue';
import { alertEventBody } from './alert-payload';
import { wantsAlert } from './subscription-match';

export interface AlertFanoutOptions {
  pool: Pool;
  queue: Queue<DeliveryJobData>;
  codec: TopicCodec<'alerts'>;
  deadLetters: { producer: BatchingProducer; codec: TopicCodec<'deadletter'>; connect?: () => Promise<void> };
  metrics: DeliveryMetrics;
  logger: Logger;
  /** Delay, or parking, for new jobs of endpoints that are busy or in trouble (the endpoint gate's view). */
  delayFor?: EnqueueOptions['delayFor'];
  /** Marks messages left without a job as parked (in PostgreSQL, and tells the gate). */
  park?: (messages: readonly PendingMessage[]) => Promise<void>;
}

interface Consumed {
  alert: AlertRecord;
  writtenAtMs: number;
}

interface Poison {
  message: KafkaMessage;
  reason: 'empty_value' | 'undecodable' | 'invalid_record';
  error: string;
}

/**
 * One partition's batch of alert events → messages for every endpoint that wants them → queue jobs.
 * The batch returns (and its offsets are committed) only after the messages are in PostgreSQL and
 * their jobs in Redis, so a crash anywhere in between replays the batch; the replay finds the same
 * message ids, enqueues the ones still pending under the same job ids, and resends nothing finished.
 */
export function createAlertFanout(o: AlertFanoutOptions): (batch: BatchContext) => Promise<void> {
  return async (batch) => {
    const consumed: Consumed[] = [];
    const poison: Poison[] = [];
    for (const message of batch.messages) {
      if (!message.value) {
        poison.push({ message, reason: 'empty_value', error: 'record has no value' });
        continue;
      }
      let decoded: unknown;
      try {
        decoded = await o.codec.decode(message.value);
      } catch (err) {
        poison.push({ message, reason: 'undecodable', error: (err as Error).message });
        continue;
      }
      const parsed = alertRecord.safeParse(decoded);
      if (!parsed.success) {
        poison.push({ message, reason: 'invalid_record', error: parsed.error.message });
        continue;
      }
      consumed.push({ alert: parsed.data, writtenAtMs: Number(message.timestamp) });
      o.metrics.alertsConsumed.inc({ event_type: parsed.data.event_type });
    }
    await deadLetter(o, batch, poison);

    const projectIds = [...new Set(consumed.map((c) => c.alert.project_id))];
    const subscriptions = await subscriptionsForProjects(o.pool, projectIds);
    const byProject = new Map<number, WebhookSubscription[]>();
    for (const s of subscriptions) {
      const list = byProject.get(s.project_id);
      if (list) list.push(s);
      else byProject.set(s.project_id, [s]);
    }
    const unmatchedProjects = projectIds.filter((id) => !byProject.has(id));
    const known = await projectOrganizations(o.pool, unmatchedProjects);

    const events = new Map<string, WebhookEventInput>();
    const messages: MessageInput[] = [];
    for (const { alert, writtenAtMs } of consumed) {
      const candidates = byProject.get(alert.project_id);
      if (!candidates) {
        if (known.has(alert.project_id)) o.metrics.alertsUnsubscribed.inc();
        else o.metrics.alertsDropped.inc({ reason: 'unknown_project' });
        continue;
      }
      const wanted = candidates.filter((s) => wantsAlert(s, alert, writtenAtMs));
      if (wanted.length === 0) {
        o.metrics.alertsUnsubscribed.inc();
        continue;
      }
      const event = alertEventBody(alert);
      events.set(event.id, {
        id: event.id,
        organizationId: wanted[0]!.organization_id,
        projectId: alert.project_id,
        type: alert.event_type,
        alertId: alert.id,
        payload: event.body,
        occurredAt: event.occurredAt,
      });
      for (const s of wanted) messages.push({ id: messageId(event.id, s.webhook_id), webhookId: s.webhook_id, eventId: event.id });
    }

    const pending = await insertMessages(o.pool, [...events.values()], messages);
    const parked = await enqueueMessages(o.queue, pending, o.delayFor ? { delayFor: o.delayFor } : {});
    if (parked.length) await o.park?.(parked);
    o.metrics.messagesEnqueued.inc({ origin: 'fanout' }, pending.length - parked.length);
    if (parked.length) o.metrics.parked.inc({ origin: 'fanout' }, parked.length);
    if (poison.length || pending.length) {
      o.logger.debug({ partition: batch.partition, alerts: consumed.length, messages: pending.length, poison: poison.length }, 'alerts fanned out');
    }
  };
}

async function deadLetter(o: AlertFanoutOptions, batch: BatchContext, poison: readonly Poison[]): Promise<void> {
  if (poison.length === 0) return;
  const now = Date.now();
  const records = await Promise.all(
    poison.map(async (p) => ({
      key: p.message.key ?? null,
      value: await o.deadLetters.codec.encode({
        service: 'delivery',
        source_topic: batch.topic,
        source_partition: batch.partition,
        source_offset: p.message.offset,
        key: p.message.key ?? null,
        value: p.message.value ?? null,
        reason: p.reason,
        error: p.error.slice(0, 4000),
        failed_at_ms: now,
      }),
    })),
  );
  await o.deadLetters.connect?.();
  await o.deadLetters.producer.send(o.deadLetters.codec.topic, records);
  for (const p of poison) o.metrics.alertsDropped.inc({ reason: p.reason });
  o.logger.warn({ topic: batch.topic, partition: batch.partition, count: poison.length, reasons: poison.map((p) => p.reason) }, 'alert records dead-lettered');
}
