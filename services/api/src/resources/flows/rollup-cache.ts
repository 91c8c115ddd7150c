/**
 * Top talkers and protocol shares sum rollup rows: a day is hundreds of thousands of rows, the same
 * for every dashboard that asks within the same minute. Answers are kept for a few seconds per
 * (projects, dimension, metric, limit, minute window), and concurrent identical requests share one
 * query, so fifty dashboards refreshing at once cost one aggregation, not fifty. A TTL of 0 turns it off.
 *
 * An answer asked for in the second half of its TTL is recomputed in the background while it keeps
 * being served, so requests that keep coming for the same window do not all wait for the query each
 * time the answer expires. No answer is served longer than the TTL after its query started; a request
 * after that waits for the refresh already running, if one is, else for a new query.
 */
interface Entry<T> {
  /** When the query behind `value` started. */
  at: number;
  value: Promise<T>;
  settled: boolean;
  /** The background query replacing this answer, while it runs. */
  refreshing: Promise<T> | null;
}

export class RollupCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
    private readonly onLookup?: (result: 'hit' | 'miss') => void,
  ) {}

  async get(key: string, compute: () => Promise<T>, now = Date.now()): Promise<T> {
    if (this.ttlMs <= 0) return compute();
    const entry = this.entries.get(key);
    if (entry && now - entry.at < this.ttlMs) {
      this.onLookup?.('hit');
      if (entry.settled && !entry.refreshing && now - entry.at >= this.ttlMs / 2) this.refresh(key, entry, compute, now);
      return entry.value;
    }
    if (entry?.refreshing) {
      this.onLookup?.('hit');
      return entry.refreshing;
    }
    this.onLookup?.('miss');
    return this.store(key, compute(), now).value;
  }

  private store(key: string, value: Promise<T>, at: number): Entry<T> {
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    const entry: Entry<T> = { at, value, settled: false, refreshing: null };
    this.entries.set(key, entry);
    value.then(
      () => (entry.settled = true),
      // A failed query is not remembered.
      () => this.entries.get(key) === entry && this.entries.delete(key),
    );
    return entry;
  }

  /** Replaces the entry once the new answer is in; a failed refresh leaves the old answer until it expires. */
  private refresh(key: string, entry: Entry<T>, compute: () => Promise<T>, now: number): void {
    const refreshing = compute();
    entry.refreshing = refreshing;
    refreshing.then(
      (value) => {
        if (this.entries.get(key) === entry) this.store(key, Promise.resolve(value), now).settled = true;
      },
      // The old answer stays until it expires; requests that waited for this refresh get its error.
      () => (entry.refreshing = null),
    );
  }
}
