import type { Pool } from '@vigil/db';
import type { Logger } from '@vigil/logging';
import type { Counter } from '@vigil/service-runtime';

export const DAY_MS = 86_400_000;

/** UTC day number (days since 1970-01-01) of an epoch-milliseconds instant. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** `YYYY-MM-DD` of a UTC day number (what the SQL functions take as `date`). */
export function dayText(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export interface DailyPartitionsOptions {
  pool: Pool;
  /** The range-partitioned parent table. */
  table: string;
  /** Days kept: partitions of UTC days before `today - retentionDays` are dropped. */
  retentionDays: number;
  /** Days after today whose partitions exist before any row needs them. */
  aheadDays: number;
  logger: Logger;
  created: Counter<'table'>;
  dropped: Counter<'table'>;
}

/**
 * Daily partitions of one table, through the `vigil_ensure_daily_partitions` and
 * `vigil_drop_daily_partitions` SQL functions (advisory-locked, so several store instances can run
 * this at once). Remembers which days exist, so the write path asks PostgreSQL only for a day it
 * has not seen (an event time the maintenance range did not cover).
 */
export class DailyPartitions {
  private known = new Set<number>();

  constructor(private readonly o: DailyPartitionsOptions) {}

  get table(): string {
    return this.o.table;
  }

  /** First UTC day that is kept at `nowMs`; rows of earlier days are expired. */
  firstKeptDay(nowMs: number): number {
    return utcDay(nowMs) - this.o.retentionDays;
  }

  /** Creates the partitions from the first kept day to `aheadDays` after today, drops the expired ones. */
  async maintain(nowMs: number): Promise<{ created: number; dropped: string[] }> {
    const first = this.firstKeptDay(nowMs);
    const last = utcDay(nowMs) + this.o.aheadDays;
    const created = await this.create(first, last);
    const { rows } = await this.o.pool.query<{ name: string }>(
      'select vigil_drop_daily_partitions($1::regclass, $2::date) as name',
      [this.o.table, dayText(first)],
    );
    const dropped = rows.map((r) => r.name);
    if (dropped.length > 0) {
      this.o.dropped.inc({ table: this.o.table }, dropped.length);
      this.o.logger.info({ table: this.o.table, dropped }, 'expired partitions dropped');
    }
    this.known = new Set();
    for (let day = first; day <= last; day++) this.known.add(day);
    return { created, dropped };
  }

  /** Makes sure a partition exists for each day (the write path calls this before inserting). */
  async ensure(days: Iterable<number>): Promise<void> {
    for (const day of days) {
      if (this.known.has(day)) continue;
      await this.create(day, day);
      this.known.add(day);
    }
  }

  /** Forgets what exists, e.g. after PostgreSQL said a row had no partition. */
  forget(): void {
    this.known.clear();
  }

  private async create(first: number, last: number): Promise<number> {
    const { rows } = await this.o.pool.query<{ n: number }>(
      'select vigil_ensure_daily_partitions($1::regclass, $2::date, $3::date) as n',
      [this.o.table, dayText(first), dayText(last)],
    );
    const n = rows[0]?.n ?? 0;
    if (n > 0) {
      this.o.created.inc({ table: this.o.table }, n);
      this.o.logger.info({ table: this.o.table, from: dayText(first), to: dayText(last), created: n }, 'partitions created');
    }
    return n;
  }
}
