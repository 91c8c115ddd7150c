/**
 * Data sets that arrived before their template (RFC 3954 §9: the collector SHOULD keep them). They
 * are copied, bounded in bytes per exporter scope and in total, decoded when the template arrives and
 * counted as expired when it does not arrive within the pending TTL.
 */
import type { DomainState, ScopeState } from './template-cache';

export interface PendingSet {
  readonly templateId: number;
  /** Copy of the set's records (without the set header). */
  readonly bytes: Uint8Array;
  readonly receivedMs: number;
  /** Header fields of the datagram the set came in, needed for timestamps. */
  readonly exportMs: number;
  readonly sysUptimeMs: number;
  readonly sequence: number;
}

/** Bookkeeping per entry on top of its bytes, so many tiny sets cannot exceed the byte bounds. */
const ENTRY_OVERHEAD = 64;

export interface PendingLimits {
  maxBytesPerScope: number;
  maxBytesTotal: number;
  ttlMs: number;
}

export type PendingOutcome = 'buffered' | 'pending_scope_full' | 'pending_global_full';

export class PendingStore {
  bytes = 0;
  sets = 0;

  constructor(private readonly limits: PendingLimits) {}

  /** Copies and keeps the records [start, end) of `buf` for template `header.templateId`. */
  add(
    scope: ScopeState,
    domain: DomainState,
    buf: Uint8Array,
    start: number,
    end: number,
    header: Omit<PendingSet, 'bytes'>,
  ): PendingOutcome {
    const cost = end - start + ENTRY_OVERHEAD;
    if (scope.pendingBytes + cost > this.limits.maxBytesPerScope) return 'pending_scope_full';
    if (this.bytes + cost > this.limits.maxBytesTotal) return 'pending_global_full';
    // A copy: the caller reuses or frees the datagram (Buffer#slice would only be a view).
    const entry: PendingSet = { ...header, bytes: new Uint8Array(buf.subarray(start, end)) };
    const list = domain.pending.get(header.templateId);
    if (list === undefined) domain.pending.set(header.templateId, [entry]);
    else list.push(entry);
    domain.pendingSets++;
    scope.pendingBytes += cost;
    this.bytes += cost;
    this.sets++;
    return 'buffered';
  }

  /**
   * Removes and returns the sets waiting for `templateId` that are still within the TTL; `expired`
   * receives how many were too old.
   */
  take(scope: ScopeState, domain: DomainState, templateId: number, nowMs: number, expired: { count: number }): PendingSet[] {
    const list = domain.pending.get(templateId);
    if (list === undefined) return [];
    domain.pending.delete(templateId);
    const ready: PendingSet[] = [];
    for (const p of list) {
      this.release(scope, domain, p);
      if (nowMs - p.receivedMs > this.limits.ttlMs) expired.count++;
      else ready.push(p);
    }
    return ready;
  }

  /** Drops sets older than the TTL; returns how many. */
  expire(scope: ScopeState, domain: DomainState, nowMs: number): number {
    if (domain.pendingSets === 0) return 0;
    let n = 0;
    for (const [id, list] of domain.pending) {
      const keep = list.filter((p) => {
        if (nowMs - p.receivedMs <= this.limits.ttlMs) return true;
        this.release(scope, domain, p);
        n++;
        return false;
      });
      if (keep.length === 0) domain.pending.delete(id);
      else if (keep.length !== list.length) domain.pending.set(id, keep);
    }
    return n;
  }

  /** Forgets everything a removed scope held; returns how many sets were dropped. */
  dropScope(scope: ScopeState): number {
    let n = 0;
    for (const d of scope.domains.values()) {
      for (const list of d.pending.values()) {
        for (const p of list) this.release(scope, d, p);
        n += list.length;
      }
      d.pending.clear();
    }
    return n;
  }

  private release(scope: ScopeState, domain: DomainState, p: PendingSet): void {
    const cost = p.bytes.length + ENTRY_OVERHEAD;
    domain.pendingSets--;
    scope.pendingBytes -= cost;
    this.bytes -= cost;
    this.sets--;
  }
}
