/**
 * When the workers notice a rule change: at once when PostgreSQL announces it (LISTEN on the
 * channel the rules table's trigger notifies), and at the latest after one poll interval — the poll
 * covers a lost notification or a listener connection that is down or being re-opened. Either way
 * the catalog re-reads the rules only when their revision moved.
 */
import { RULES_CHANGED_CHANNEL } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import pg from 'pg';
import type { RuleCatalog } from './rule-catalog';

export interface RuleWatcher {
  stop(): Promise<void>;
}

export interface RuleWatchOptions {
  catalog: RuleCatalog;
  databaseUrl: string;
  intervalMs: number;
  logger: Logger;
  /** Called after each failed refresh (metrics). */
  onError?: (err: unknown) => void;
}

export function watchRules(o: RuleWatchOptions): RuleWatcher {
  let stopped = false;
  let listener: pg.Client | null = null;
  let reconnect: NodeJS.Timeout | null = null;

  const refresh = () => {
    if (stopped) return;
    o.catalog.refresh().catch((err: unknown) => {
      o.onError?.(err);
      o.logger.warn({ err }, 'reading the rules failed; retrying at the next poll');
    });
  };

  const listen = async () => {
    reconnect = null;
    if (stopped) return;
    const client = new pg.Client({ connectionString: o.databaseUrl, application_name: 'vigil-rules-listener' });
    client.on('error', (err) => {
      o.logger.warn({ err }, 'rule change listener lost its connection; reconnecting');
      void client.end().catch(() => undefined);
      if (listener === client) listener = null;
      if (!stopped && reconnect === null) reconnect = setTimeout(() => void listen(), 1000);
    });
    client.on('notification', refresh);
    try {
      await client.connect();
      await client.query(`listen ${RULES_CHANGED_CHANNEL}`);
      if (stopped) {
        await client.end();
        return;
      }
      listener = client;
      // Changes made while the listener was away were only covered by the poll: look once now.
      refresh();
    } catch (err) {
      o.logger.warn({ err }, 'could not listen for rule changes; polling only until it can');
      await client.end().catch(() => undefined);
      if (!stopped && reconnect === null) reconnect = setTimeout(() => void listen(), 2000);
    }
  };

  void listen();
  const poll = setInterval(refresh, o.intervalMs);
  poll.unref();

  return {
    async stop() {
      stopped = true;
      clearInterval(poll);
      if (reconnect !== null) clearTimeout(reconnect);
      await listener?.end().catch(() => undefined);
    },
  };
}
