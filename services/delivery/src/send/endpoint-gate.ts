/**
 * Head-of-line isolation and per-endpoint flow control. All endpoints share one BullMQ queue and
 * one worker pool (BullMQ's open rate limiter is per queue, so it cannot slow one endpoint alone).
 * Before a job may use a worker slot for its request, the gate decides from what this process has
 * seen of the endpoint:
 *
 * - healthy (last attempt succeeded or nothing known): up to `perEndpoint` requests in flight; more
 *   of its jobs may wait here briefly (`waitMs`) for a slot — all waiting jobs of all endpoints
 *   together at most `waitingBudget` worker slots, so the others always have room;
 * - in trouble — its last attempt timed out, could not connect or got a 5xx/429, or a request to it
 *   has been in flight longer than `slowAfterMs`: one request at a time (a probe), and all probes
 *   together at most `unhealthyBudget` slots;
 * - paused by a Retry-After until that time.
 *
 * A job that may not go now leaves the worker without using an attempt:
 *
 * - parked, when a request already in flight here will tell when the endpoint can take more (it is
 *   busy beyond its slots and the waiting budget, or in trouble with a probe running): the job ends
 *   and its message waits in PostgreSQL, still pending. While an endpoint has parked messages, its
 *   new messages are parked too (they get no job at all), and as its requests finish the gate asks
 *   `resume` for the next few, oldest first. A parked message costs the queue nothing while it
 *   waits, so neither a large backlog nor a long outage makes the worker fetch the same jobs over
 *   and over;
 * - deferred otherwise (in trouble with no request in flight, or paused): moved to the queue's
 *   delayed set, for as long as the job or the trouble has lasted (at least `deferBaseMs`, at most
 *   `deferMaxMs`), or until the pause ends.
 *
 * An endpoint in trouble whose attempts fail at once (connection refused) rarely has a request in
 * flight, so its new messages would each be queued delayed and fetched again later, only to be
 * parked or deferred once more: queue traffic as large as a healthy endpoint's, taken from everybody
 * else's. Instead one new message is queued delayed as its next probe, and the others are parked
 * until that probe (or a later one) finds the endpoint back.
 *
 * So an endpoint that hangs holds at most `perEndpoint` slots until it is found slow, then one; an
 * endpoint answering 429 holds none while paused; and the rest of the worker serves everybody else.
 */
export type DeferReason = 'endpoint_paused' | 'endpoint_unhealthy' | 'endpoint_busy';

/** What an attempt says about its endpoint. */
export type EndpointSignal =
  | { kind: 'healthy' }
  | { kind: 'unhealthy'; retryAfterMs?: number }
  /** Answered promptly but not with success (4xx, redirect) or refused before sending: no change. */
  | { kind: 'neutral' };

export type Admission =
  | { admitted: true; release(signal: EndpointSignal): void }
  /** `park`: end the job and leave the message pending in PostgreSQL; it is resumed from there. */
  | { admitted: false; reason: DeferReason; deferMs: number; park: boolean };

/** What to do with a new message of an endpoint: queue it now, queue it delayed, or park it. */
export type NewJobPlan = { kind: 'now' } | { kind: 'hold'; delayMs: number } | { kind: 'park' };

export interface EndpointGateOptions {
  perEndpoint: number;
  unhealthyBudget: number;
  slowAfterMs: number;
  /** Longest a job waits here for a slot of a busy healthy endpoint. Default 1 s. */
  waitMs?: number;
  /** Jobs of all endpoints together that may wait here for a slot. Default `perEndpoint`. */
  waitingBudget?: number;
  /**
   * Beyond the waiting budget, a job may still wait for a slot of an endpoint that answers fast
   * enough to give it one within this long (from its recent request durations, and with no request
   * open much longer than they usually take). Default half of `waitMs`; 0 turns it off.
   */
  shortWaitMs?: number;
  /** Shortest deferral of a job of an endpoint in trouble. Default 1 s. */
  deferBaseMs?: number;
  deferMaxMs: number;
  /**
   * Enqueues up to `limit` of the endpoint's parked messages again, oldest first; resolves to how
   * many it found. Called as the endpoint has room, and when it recovers from trouble.
   */
  resume?: (endpointId: string, limit: number) => Promise<number>;
  /** How long resumed jobs are waited for before the gate stops counting on them. Default 5 s. */
  inboundGraceMs?: number;
  now?: () => number;
  random?: () => number;
}

interface EndpointState {
  /** Start times of the requests in flight. */
  started: number[];
  /** Moving average of its recent request durations (ms), null before the first one ended. */
  recentMs: number | null;
  /** Failed attempts since the last success. */
  failures: number;
  pausedUntil: number;
  /** When the current trouble began (failure, pause or a slow request), null while healthy. */
  troubleSince: number | null;
  waiters: Array<(admission: Admission) => void>;
  /** Messages parked by this process and not yet resumed (an estimate: others may resume them). */
  parked: number;
  /** Resumed messages whose jobs have not come by yet; reset if they do not come. */
  inbound: number;
  inboundSince: number;
  resuming: boolean;
  /** A later look at the parked messages, while resumed jobs are counted on. */
  recheck: ReturnType<typeof setTimeout> | null;
  /** While in trouble: when a job queued delayed is due to come as the next probe, null if none. */
  nextProbeAt: number | null;
}

/** Idle endpoints whose request durations are remembered. */
const REMEMBERED_ENDPOINTS = 10_000;

/** How long past its due time a job expected as the next probe is waited for before another is queued. */
const PROBE_GRACE_MS = 5_000;

export class EndpointGate {
  private readonly states = new Map<string, EndpointState>();
  /** Request durations of endpoints whose state was let go while idle, so a new burst knows them. */
  private readonly remembered = new Map<string, number>();
  private probesInFlight = 0;
  private waiting = 0;
  private closed = false;
  private readonly waitMs: number;
  private readonly shortWaitMs: number;
  private readonly deferBaseMs: number;
  private readonly inboundGraceMs: number;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly o: EndpointGateOptions) {
    this.waitMs = o.waitMs ?? 1000;
    this.shortWaitMs = o.shortWaitMs ?? this.waitMs / 2;
    this.inboundGraceMs = o.inboundGraceMs ?? 5000;
    this.deferBaseMs = Math.min(o.deferBaseMs ?? 1000, o.deferMaxMs);
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
  }

  /**
   * Asks for a slot for one request to `endpointId`. `waitedMs` is how long the job has existed
   * (it lengthens the next deferral).
   */
  admit(endpointId: string, waitedMs = 0): Admission | Promise<Admission> {
    const state = this.state(endpointId);
    const now = this.now();
    if (state.inbound > 0) state.inbound -= 1;
    if (this.closed) return this.defer('endpoint_busy', this.waitMs);
    if (state.pausedUntil > now) return this.defer('endpoint_paused', state.pausedUntil - now + this.spread(50));
    if (this.inTrouble(state, now)) {
      if (state.started.length === 0 && this.probesInFlight < this.o.unhealthyBudget) {
        state.nextProbeAt = null;
        return this.take(endpointId, state, true);
      }
      const deferMs = this.backoff(Math.max(waitedMs, now - (state.troubleSince ?? now)));
      // With no request in flight the deferred job comes back as a probe.
      if (state.started.length === 0) state.nextProbeAt = Math.max(state.nextProbeAt ?? 0, now + deferMs);
      return this.defer('endpoint_unhealthy', deferMs, state.started.length > 0);
    }
    if (state.started.length < this.o.perEndpoint && state.waiters.length === 0) return this.take(endpointId, state, false);
    if (this.waiting >= (this.o.waitingBudget ?? this.o.perEndpoint) && !this.slotSoon(state, now)) return this.defer('endpoint_busy', this.waitMs, true);
    this.waiting += 1;
    return new Promise<Admission>((resolve) => {
      const timer = setTimeout(() => {
        const index = state.waiters.indexOf(wake);
        if (index >= 0) state.waiters.splice(index, 1);
        this.waiting -= 1;
        resolve(this.defer('endpoint_busy', this.waitMs, true));
      }, this.waitMs);
      const wake = (admission: Admission) => {
        clearTimeout(timer);
        this.waiting -= 1;
        resolve(admission);
      };
      state.waiters.push(wake);
    });
  }

  /**
   * Whether a job of this endpoint would be let through (at once or after a wait for a slot) rather
   * than deferred or parked: the endpoint is neither paused nor in trouble. Asking takes no slot.
   */
  accepting(endpointId: string): boolean {
    if (this.closed) return false;
    const state = this.states.get(endpointId);
    if (!state) return true;
    const now = this.now();
    return state.pausedUntil <= now && !this.inTrouble(state, now);
  }

  /** For a new message of this endpoint: queue it now, delayed (paused, or no probe here yet) or park it. */
  planNewJob(endpointId: string): NewJobPlan {
    const state = this.states.get(endpointId);
    if (!state || this.closed) return { kind: 'now' };
    const now = this.now();
    if (state.pausedUntil > now) return { kind: 'hold', delayMs: Math.round(state.pausedUntil - now + this.spread(50)) };
    if (this.inTrouble(state, now)) {
      if (state.started.length > 0) return { kind: 'park' };
      // A job already on its way as the next probe will tell whether the endpoint is back.
      if (state.nextProbeAt !== null && now <= state.nextProbeAt + PROBE_GRACE_MS) return { kind: 'park' };
      const delayMs = Math.round(this.backoff(now - (state.troubleSince ?? now)));
      state.nextProbeAt = now + delayMs;
      return { kind: 'hold', delayMs };
    }
    // Behind messages already parked, in order; they come back as the endpoint has room.
    if (state.parked > 0) {
      this.maybeResume(endpointId, state);
      return { kind: 'park' };
    }
    return { kind: 'now' };
  }

  /** Tells the gate that `count` messages of the endpoint were parked (by the worker or the fan-out). */
  noteParked(endpointId: string, count: number): void {
    if (count <= 0) return;
    const state = this.state(endpointId);
    state.parked += count;
    this.maybeResume(endpointId, state);
  }

  /** Endpoints this process treats as in trouble right now. */
  troubledCount(): number {
    const now = this.now();
    let n = 0;
    for (const state of this.states.values()) if (state.pausedUntil > now || this.inTrouble(state, now)) n += 1;
    return n;
  }

  inFlight(): number {
    let n = 0;
    for (const state of this.states.values()) n += state.started.length;
    return n;
  }

  /** Sends waiting jobs back to the queue (on shutdown). */
  close(): void {
    this.closed = true;
    for (const state of this.states.values()) {
      if (state.recheck !== null) clearTimeout(state.recheck);
      state.recheck = null;
      for (const wake of state.waiters.splice(0)) wake(this.defer('endpoint_busy', this.waitMs));
    }
  }

  private take(endpointId: string, state: EndpointState, probe: boolean): Admission {
    const startedAt = this.now();
    state.started.push(startedAt);
    if (probe) this.probesInFlight += 1;
    let released = false;
    return {
      admitted: true,
      release: (signal) => {
        if (released) return;
        released = true;
        state.started.splice(state.started.indexOf(startedAt), 1);
        if (probe) this.probesInFlight -= 1;
        const now = this.now();
        state.recentMs = state.recentMs === null ? now - startedAt : 0.8 * state.recentMs + 0.2 * (now - startedAt);
        if (signal.kind === 'healthy') {
          state.failures = 0;
          state.pausedUntil = 0;
        } else if (signal.kind === 'unhealthy') {
          state.failures += 1;
          state.troubleSince ??= startedAt;
          if (signal.retryAfterMs !== undefined) state.pausedUntil = Math.max(state.pausedUntil, now + signal.retryAfterMs);
        }
        // Back from trouble: parked messages (of any process) may be waiting in PostgreSQL.
        if (state.troubleSince !== null && state.pausedUntil <= now && !this.inTrouble(state, now)) {
          state.troubleSince = null;
          state.nextProbeAt = null;
          state.parked = Math.max(state.parked, 1);
        }
        this.wakeWaiters(endpointId, state, now);
        this.maybeResume(endpointId, state);
        this.forget(endpointId, state);
      },
    };
  }

  /** Asks for more parked messages when the endpoint has room for them and none are on their way. */
  private maybeResume(endpointId: string, state: EndpointState): void {
    const resume = this.o.resume;
    if (!resume || state.parked <= 0 || state.resuming || this.closed) return;
    const now = this.now();
    if (this.inTrouble(state, now) || state.pausedUntil > now) return;
    if (state.inbound > 0 && now - state.inboundSince > this.inboundGraceMs) state.inbound = 0;
    // Keep about four rounds of its slots on hand (in flight, waiting here, or on their way), and
    // top up once half of that is gone, so a busy endpoint's pipeline never runs dry.
    const target = Math.max(2, Math.min(4 * this.o.perEndpoint, this.o.perEndpoint + (this.o.waitingBudget ?? this.o.perEndpoint)));
    const queued = state.started.length + state.waiters.length + state.inbound;
    if (queued >= target / 2) {
      // Counting on resumed jobs that may never come (their next attempt is later, or another
      // process took them): if nothing else happens here, look again once they are overdue.
      if (state.inbound > 0 && state.recheck === null) {
        state.recheck = setTimeout(() => {
          state.recheck = null;
          this.maybeResume(endpointId, state);
          this.forget(endpointId, state);
        }, Math.max(1, state.inboundSince + this.inboundGraceMs - now + 1));
        state.recheck.unref();
      }
      return;
    }
    const limit = target - queued;
    const noted = state.parked;
    state.resuming = true;
    resume(endpointId, limit).then(
      (found) => {
        state.resuming = false;
        state.inbound += found;
        state.inboundSince = this.now();
        // Messages parked while this ran may not have been seen by it: they are still owed, and
        // nothing else may ask for them before the pending sweep does minutes later.
        const parkedSince = Math.max(0, state.parked - noted);
        state.parked = (found < limit ? 0 : Math.max(1, noted - found)) + parkedSince;
        this.maybeResume(endpointId, state);
        this.forget(endpointId, state);
      },
      () => {
        // The pending sweep picks the messages up if resuming keeps failing.
        state.resuming = false;
      },
    );
  }

  private wakeWaiters(endpointId: string, state: EndpointState, now: number): void {
    while (state.waiters.length > 0) {
      if (state.pausedUntil > now || this.inTrouble(state, now)) {
        for (const wake of state.waiters.splice(0)) wake(this.defer('endpoint_unhealthy', this.backoff(0), state.started.length > 0));
        break;
      }
      if (state.started.length >= this.o.perEndpoint) break;
      state.waiters.shift()!(this.take(endpointId, state, false));
    }
  }

  private forget(endpointId: string, state: EndpointState): void {
    if (state.started.length === 0 && state.waiters.length === 0 && state.troubleSince === null && state.parked === 0 && !state.resuming) {
      if (this.states.get(endpointId) !== state) return;
      this.states.delete(endpointId);
      if (state.recentMs !== null) {
        this.remembered.delete(endpointId);
        this.remembered.set(endpointId, state.recentMs);
        // The oldest go first (a Map iterates in insertion order).
        if (this.remembered.size > REMEMBERED_ENDPOINTS) this.remembered.delete(this.remembered.keys().next().value!);
      }
    }
  }

  /**
   * Whether one more waiting job of this endpoint would get a slot within `shortWaitMs`: its requests
   * have been taking little enough for the jobs already waiting, and none has been open much longer
   * than they usually take (an endpoint that stops answering stops gathering waiters at once). Such
   * waits hold the worker's slots only briefly — they free as fast as the endpoint answers — where
   * parking would send each job through PostgreSQL and the queue twice more and, while the
   * endpoint has parked messages, would park its new ones too, to come back only in rounds.
   */
  private slotSoon(state: EndpointState, now: number): boolean {
    if (this.shortWaitMs <= 0 || state.recentMs === null) return false;
    const oldest = state.started[0];
    if (oldest !== undefined && now - oldest > Math.min(this.shortWaitMs, Math.max(100, 4 * state.recentMs))) return false;
    return ((state.waiters.length + 1) / this.o.perEndpoint) * state.recentMs <= this.shortWaitMs;
  }

  private inTrouble(state: EndpointState, now: number): boolean {
    if (state.failures > 0) return true;
    const oldest = state.started[0];
    if (oldest !== undefined && now - oldest >= this.o.slowAfterMs) {
      state.troubleSince ??= oldest;
      return true;
    }
    return false;
  }

  private state(endpointId: string): EndpointState {
    let state = this.states.get(endpointId);
    if (!state) {
      state = { started: [], recentMs: this.remembered.get(endpointId) ?? null, failures: 0, pausedUntil: 0, troubleSince: null, waiters: [], parked: 0, inbound: 0, inboundSince: 0, resuming: false, recheck: null, nextProbeAt: null };
      this.states.set(endpointId, state);
    }
    return state;
  }

  private defer(reason: DeferReason, deferMs: number, park = false): Admission {
    return { admitted: false, reason, deferMs: Math.max(1, Math.round(deferMs)), park };
  }

  /** As long as the job or the trouble has lasted, between the base and the maximum, ±25%. */
  private backoff(lastedMs: number): number {
    return Math.min(this.o.deferMaxMs, Math.max(this.deferBaseMs, lastedMs)) * (0.75 + 0.5 * this.random());
  }

  private spread(ms: number): number {
    return ms * this.random();
  }
}
