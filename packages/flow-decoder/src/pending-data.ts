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
    domain.pending.push({ ...header, bytes: new Uint8Array(buf.subarray(start, end)) });
    domain.pendingByTemplate.set(header.templateId, (domain.pendingByTemplate.get(header.templateId) ?? 0) + 1);
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
    if (!domain.pendingByTemplate.has(templateId)) return [];
    const ready: PendingSet[] = [];
    const keep: PendingSet[] = [];
    for (const p of domain.pending) {
      if (p.templateId !== templateId) {
        keep.push(p);
        continue;
      }
      this.release(scope, domain, p);
      if (nowMs - p.receivedMs > this.limits.ttlMs) expired.count++;
      else ready.push(p);
    }
    domain.pending = keep;
    return ready;
  }

  /** Drops sets older than the TTL; returns how many. */
  expire(scope: ScopeState, domain: DomainState, nowMs: number): number {
    if (domain.pending.length === 0) return 0;
    let n = 0;
    domain.pending = domain.pending.filter((p) => {
      if (nowMs - p.receivedMs <= this.limits.ttlMs) return true;
      this.release(scope, domain, p);
      n++;
      return false;
    });
    return n;
  }

  /** Forgets everything a removed scope held; returns how many sets were dropped. */
  dropScope(scope: ScopeState): number {
    let n = 0;
    for (const d of scope.domains.values()) {
      for (const p of d.pending) this.release(scope, d, p);
      n += d.pending.length;
      d.pending = [];
    }
    return n;
  }

  private release(scope: ScopeState, domain: DomainState, p: PendingSet): void {
    const left = (domain.pendingByTemplate.get(p.templateId) ?? 1) - 1;
    if (left > 0) domain.pendingByTemplate.set(p.templateId, left);
    else domain.pendingByTemplate.delete(p.templateId);
    const cost = p.bytes.length + ENTRY_OVERHEAD;
    scope.pendingBytes -= cost;
    this.bytes -= cost;
    this.sets--;
  }
}
