/**
 * Top talkers and protocol shares sum minutes of rollups: a day is hundreds of thousands of rows, the
 * same for every dashboard that asks within the same minute. Answers are kept for a few seconds per
 * (projects, dimension, metric, limit, minute window), and concurrent identical requests share one
 * query, so fifty dashboards refreshing at once cost one aggregation, not fifty. A TTL of 0 turns it off.
 */
export class RollupCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

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
      return entry.value;
    }
    this.onLookup?.('miss');
    const value = compute();
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { at: now, value });
    // A failed query is not remembered.
    value.catch(() => this.entries.get(key)?.value === value && this.entries.delete(key));
    return value;
  }
}
