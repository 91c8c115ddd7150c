/**
 * Concurrent deliveries share database round trips: items submitted while a round trip is in flight
 * (or in the same tick) go together in the next one, as a group commit does. Each caller still
 * waits for its own item's result, so nothing is acknowledged before it is written. With a hundred
 * deliveries in flight this turns a hundred reads and a hundred writes per round into two of each.
 */
export class RoundTripBatcher<I, O> {
  private queue: Array<{ item: I; resolve: (value: O) => void; reject: (err: unknown) => void }> = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    /** Runs one round trip; returns one result per item, in order. */
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch?: number; maxInFlight?: number } = {},
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= (this.options.maxInFlight ?? 2) || this.queue.length === 0) return;
    this.scheduled = true;
    // One macrotask of grace gathers everything the current tick submits.
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.queue.length === 0 || this.inFlight >= (this.options.maxInFlight ?? 2)) return;
    const batch = this.queue.splice(0, this.options.maxBatch ?? 500);
    this.inFlight += 1;
    this.run(batch.map((entry) => entry.item)).then(
      (results) => {
        batch.forEach((entry, i) => entry.resolve(results[i] as O));
      },
      (err: unknown) => {
        for (const entry of batch) entry.reject(err);
      },
    ).finally(() => {
      this.inFlight -= 1;
      this.schedule();
    });
    this.schedule();
  }
}
