/**
 * Templates and per-exporter state. A template belongs to (scope key supplied by the caller, e.g.
 * exporter address and port) + version + observation domain / source id + template id. Templates that
 * change replace the old one, expire after the template TTL unless refreshed, and are bounded per
 * scope; scopes and domains are bounded too, so no input can make this state grow without limit.
 */
import type { PendingSet } from './pending-data';
import type { SetDecoder } from './record-compiler';
import type { RecordPlan } from './record-plan';
import { SamplingState } from './sampling';
import { SequenceTracker } from './sequence-tracker';

export interface Template {
  readonly id: number;
  readonly options: boolean;
  /** The template record as received, to recognise an unchanged refresh without re-parsing. */
  readonly raw: Uint8Array;
  readonly plan: RecordPlan;
  /** The interpreter at first, generated code once the template has decoded enough records. */
  decode: SetDecoder;
  /** Records decoded while on the interpreter; -1 once compiled. */
  interpretedRecords: number;
  updatedMs: number;
}

export class DomainState {
  readonly templates = new Map<number, Template>();
  readonly sampling = new SamplingState();
  readonly sequence = new SequenceTracker();
  /** Data sets waiting for their template, by template id. */
  readonly pending = new Map<number, PendingSet[]>();
  pendingSets = 0;
  /** systemInitTimeMilliseconds announced in options data; -1 unknown. */
  initMs = -1;
  lastSeenMs: number;

  constructor(
    readonly version: 5 | 9 | 10,
    readonly id: number,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
  }
}

export class ScopeState {
  readonly domains = new Map<number, DomainState>();
  templateCount = 0;
  pendingBytes = 0;
  lastSeenMs: number;
  /** Last time the scope was moved to the most-recently-used end. */
  touchedMs: number;

  constructor(
    readonly key: string,
    nowMs: number,
  ) {
    this.lastSeenMs = nowMs;
    this.touchedMs = nowMs;
  }
}

export interface CacheLimits {
  maxScopes: number;
  maxDomainsPerScope: number;
  maxTemplatesPerScope: number;
  templateTtlMs: number;
}

export interface CacheCounters {
  scopesEvicted: number;
  templatesExpired: number;
}

/** Domain map key: version and 32-bit domain id in one safe integer. */
function domainKey(version: number, id: number): number {
  return version * 0x1_0000_0000 + id;
}

export class TemplateCache {
  readonly scopes = new Map<string, ScopeState>();
  readonly counters: CacheCounters = { scopesEvicted: 0, templatesExpired: 0 };

  constructor(
    private readonly limits: CacheLimits,
    private readonly onScopeRemoved: (scope: ScopeState) => void,
  ) {}

  /** The scope for `key`, created if needed (evicting the least recently used one when full). */
  scope(key: string, nowMs: number): ScopeState {
    let s = this.scopes.get(key);
    if (s !== undefined) {
      s.lastSeenMs = nowMs;
      // Re-insertion keeps Map order close to recency; once a second is enough for eviction order.
      if (nowMs - s.touchedMs >= 1000) {
        s.touchedMs = nowMs;
        this.scopes.delete(key);
        this.scopes.set(key, s);
      }
      return s;
    }
    if (this.scopes.size >= this.limits.maxScopes) {
      const oldest = this.scopes.values().next();
      if (oldest.done !== true) {
        this.removeScope(oldest.value);
        this.counters.scopesEvicted++;
      }
    }
    s = new ScopeState(key, nowMs);
    this.scopes.set(key, s);
    return s;
  }

  /** The domain state, created if the scope has room; undefined when the domain limit is reached. */
  domain(scope: ScopeState, version: 5 | 9 | 10, id: number, nowMs: number): DomainState | undefined {
    const k = domainKey(version, id);
    let d = scope.domains.get(k);
    if (d === undefined) {
      if (scope.domains.size >= this.limits.maxDomainsPerScope) return undefined;
      d = new DomainState(version, id, nowMs);
      scope.domains.set(k, d);
    }
    d.lastSeenMs = nowMs;
    return d;
  }

  /** A live template, or undefined; an expired one is removed on the way. */
  template(scope: ScopeState, domain: DomainState, id: number, nowMs: number): Template | undefined {
    const t = domain.templates.get(id);
    if (t === undefined) return undefined;
    if (nowMs - t.updatedMs > this.limits.templateTtlMs) {
      this.deleteTemplate(scope, domain, id);
      this.counters.templatesExpired++;
      return undefined;
    }
    return t;
  }

  /** Whether the scope may hold one more template (replacing an existing id always may). */
  hasRoom(scope: ScopeState, domain: DomainState, id: number): boolean {
    return domain.templates.has(id) || scope.templateCount < this.limits.maxTemplatesPerScope;
  }

  put(scope: ScopeState, domain: DomainState, t: Template): 'added' | 'replaced' {
    const replaced = domain.templates.has(t.id);
    if (!replaced) scope.templateCount++;
    domain.templates.set(t.id, t);
    return replaced ? 'replaced' : 'added';
  }

  deleteTemplate(scope: ScopeState, domain: DomainState, id: number): boolean {
    if (!domain.templates.delete(id)) return false;
    scope.templateCount--;
    return true;
  }

  /** Drops expired templates and idle empty domains and scopes. */
  expire(nowMs: number, idleMs: number): { templates: number; scopes: number } {
    let templates = 0;
    let scopes = 0;
    for (const scope of [...this.scopes.values()]) {
      for (const [k, d] of scope.domains) {
        for (const [id, t] of d.templates) {
          if (nowMs - t.updatedMs > this.limits.templateTtlMs) {
            this.deleteTemplate(scope, d, id);
            templates++;
          }
        }
        if (d.templates.size === 0 && d.pendingSets === 0 && nowMs - d.lastSeenMs > idleMs) scope.domains.delete(k);
      }
      if (scope.domains.size === 0 && nowMs - scope.lastSeenMs > idleMs) {
        this.removeScope(scope);
        scopes++;
      }
    }
    this.counters.templatesExpired += templates;
    return { templates, scopes };
  }

  removeScope(scope: ScopeState): void {
    if (this.scopes.get(scope.key) !== scope) return;
    this.scopes.delete(scope.key);
    this.onScopeRemoved(scope);
  }

  templateCount(): number {
    let n = 0;
    for (const s of this.scopes.values()) n += s.templateCount;
    return n;
  }
}
