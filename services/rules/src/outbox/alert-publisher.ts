/**
 * Publishes the outbox (`alert_events`) to the alerts topic. One rule worker publishes at a time:
 * the one holding a PostgreSQL session advisory lock, which the server releases the moment that
 * worker's connection ends (a crash included), so another takes over within a poll interval.
 * One publisher means no two processes ever send the same row.
 *
 * Per round, oldest first: rows attempted before but never confirmed are first looked for on the
 * topic (published-check.ts) and marked if found; the rest are marked attempted, sent (acks=all,
 * keyed by alert id so one alert's events stay in order) and marked published. It wakes on the
 * outbox's NOTIFY channel (written with every alert change), and polls as a fallback.
 */
import type { Kafka } from 'kafkajs';
import { alertRecord } from '@vigil/contracts';
import { ALERT_EVENTS_CHANNEL, markAlertEventsAttempted, markAlertEventsPublished, pendingAlertEvents, type PendingAlertEvent, type Pool } from '@vigil/db';
import type { BatchingProducer, TopicCodec } from '@vigil/kafka';
import type { Logger } from '@vigil/logging';
import pg from 'pg';
import { sendBounded } from '../bounded-send';
import type { RulesMetrics } from '../rules-metrics';
import { findPublished } from './published-check';

export interface AlertPublisherOptions {
  pool: Pool;
  databaseUrl: string;
  kafka: Kafka;
  producer: BatchingProducer;
  codec: TopicCodec<'alerts'>;
  metrics: RulesMetrics;
  logger: Logger;
  /** How often a standby tries to become the publisher, and the leader looks without a notification. */
  pollIntervalMs?: number;
}

/** Advisory lock key of the publisher role (any constant; one per database). */
const PUBLISHER_LOCK = 'vigil.rules.alert-publisher';
const ROUND_SIZE = 500;

export interface AlertPublisher {
  isLeader(): boolean;
  /** Resolves once every row pending now has been published (leader only; for tests and shutdown). */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

export function startAlertPublisher(o: AlertPublisherOptions): AlertPublisher {
  const log = o.logger.child({ component: 'alert-publisher' });
  const interval = o.pollIntervalMs ?? 1000;
  let stopped = false;
  let session: pg.Client | null = null;
  let leader = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => void tick(), ms);
  };

  const loseLeadership = (reason: unknown) => {
    if (leader) log.warn({ err: reason }, 'alert publisher lost its database session; another worker may take over');
    leader = false;
    o.metrics.publisherLeader.set(0);
    const s = session;
    session = null;
    void s?.end().catch(() => undefined);
  };

  const campaign = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: o.databaseUrl, application_name: 'vigil-rules-alert-publisher' });
    client.on('error', (err) => {
      if (session === client) loseLeadership(err);
    });
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [PUBLISHER_LOCK]);
      if (!rows[0]?.locked || stopped) {
        await client.end();
        return;
      }
      client.on('notification', () => wake());
      await client.query(`listen ${ALERT_EVENTS_CHANNEL}`);
      session = client;
      leader = true;
      o.metrics.publisherLeader.set(1);
      log.info('this worker publishes alert events');
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  };

  const publishRound = async (rows: PendingAlertEvent[]): Promise<void> => {
    let todo = rows;
    const uncertain = rows.filter((r) => r.attempted_at !== null);
    if (uncertain.length > 0) {
      const since = Math.min(...uncertain.map((r) => (r.attempted_at as Date).getTime()));
      const found = await findPublished({ kafka: o.kafka, codec: o.codec, ids: new Set(uncertain.map((r) => r.id)), sinceMs: since });
      await markAlertEventsPublished(o.pool, [...found]);
      if (found.size > 0) o.metrics.publishChecks.inc({ outcome: 'found' }, found.size);
      if (uncertain.length - found.size > 0) o.metrics.publishChecks.inc({ outcome: 'missing' }, uncertain.length - found.size);
      log.info({ checked: uncertain.length, found: found.size }, 'unconfirmed alert events checked against the topic');
      todo = rows.filter((r) => !found.has(r.id));
    }
    if (todo.length === 0) return;
    const messages = [];
    const invalid: string[] = [];
    for (const row of todo) {
      const parsed = alertRecord.safeParse(row.record);
      if (!parsed.success) {
        invalid.push(row.id);
        log.error({ id: row.id, issues: parsed.error.issues }, 'alert event does not satisfy the contract; not published');
        continue;
      }
      messages.push({ key: row.alert_id, value: await o.codec.encode(parsed.data) });
    }
    await markAlertEventsAttempted(o.pool, todo.map((r) => r.id));
    await sendBounded(o.producer, o.codec.topic, messages);
    await markAlertEventsPublished(o.pool, todo.map((r) => r.id));
    if (invalid.length > 0) o.metrics.dropped.inc({ stage: 'publish', reason: 'invalid_alert_event' }, invalid.length);
    for (const row of todo) if (!invalid.includes(row.id)) o.metrics.published.inc({ event_type: row.event_type });
  };

  const drain = async (): Promise<void> => {
    for (;;) {
      const rows = await pendingAlertEvents(o.pool, ROUND_SIZE);
      if (rows.length === 0 || !leader || stopped) return;
      await publishRound(rows);
      if (rows.length < ROUND_SIZE) return;
    }
  };

  const tick = (): Promise<void> => {
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          if (!leader) await campaign();
          if (leader) await drain();
        } catch (err) {
          log.warn({ err }, 'publishing alert events failed; retrying');
        }
      } while (again && !stopped);
    })().finally(() => {
      running = null;
      schedule(interval);
    });
    return running;
  };

  const wake = () => void tick();
  schedule(0);

  return {
    isLeader: () => leader,
    async flush() {
      await tick();
    },
    async stop() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
      await running;
      const s = session;
      session = null;
      leader = false;
      await s?.end().catch(() => undefined);
    },
  };
}
