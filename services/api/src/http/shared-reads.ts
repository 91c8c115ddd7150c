/**
 * Concurrent identical reads share one query ("single flight"): while the query behind a list page
 * runs, every request for the same page of the same organization waits for that query instead of
 * starting its own, and all of them are answered from its rows. Nothing is kept once the query has
 * settled — the next request queries again — so an answer is never older than the request that
 * started its query; a request that joins was answered with rows read at most one query's duration
 * before it arrived, which no caller can tell from a request that arrived a moment earlier.
 *
 * Fifty dashboards or scripts polling the newest alerts then cost one query per round instead of
 * fifty. A failed query fails every request that shared it, as each would have failed on its own.
 */
export class SharedReads {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly enabled = true,
    private readonly onRead?: (result: 'led' | 'joined') => void,
  ) {}

  /** The answer of `read`, or of the identical read (same `key`) already running. */
  run<T>(key: string, read: () => Promise<T>): Promise<T> {
    if (!this.enabled) return read();
    const running = this.inFlight.get(key);
    if (running) {
      this.onRead?.('joined');
      return running as Promise<T>;
    }
    this.onRead?.('led');
    const started = read();
    this.inFlight.set(key, started);
    // Only this read's own entry: after startAfterWrite another read of the same key may have taken its place.
    const forget = () => {
      if (this.inFlight.get(key) === started) this.inFlight.delete(key);
    };
    started.then(forget, forget);
    return started;
  }

  /**
   * Requests from now on do not join the reads of this resource and organization already running: a
   * caller that changed something through this API (acknowledged an alert) and then lists it reads
   * after its change, never the answer of a read that started before it.
   */
  startAfterWrite(resource: string, organizationId: number): void {
    const prefix = readsOf(resource, organizationId);
    for (const key of this.inFlight.keys()) if (key.startsWith(prefix)) this.inFlight.delete(key);
  }

  /** Reads running now. */
  get size(): number {
    return this.inFlight.size;
  }
}

/**
 * The key of a list read: the resource, the caller's organization and the validated query (whose keys
 * come out of its schema in a fixed order, so the order of the URL's parameters does not matter).
 */
export const listReadKey = (resource: string, organizationId: number, query: unknown): string => readsOf(resource, organizationId) + JSON.stringify(query);

/** The start of every key of one resource and organization. */
const readsOf = (resource: string, organizationId: number) => `${resource}\u0000${organizationId}\u0000`;
