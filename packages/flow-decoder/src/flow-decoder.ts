/**
 * The decoder: one instance holds the template and exporter state of one transport (UDP, one TCP
 * listener, or HTTP ingest), is fed datagrams with the caller's scope key and clock, and never throws
 * out of `decode`. No I/O, no timers: the caller passes `nowMs` and calls `expire` periodically.
 */
import { emptyResult, emptyStats, type DecodeResult, type DecoderStats, type MissingTemplateMode } from './decode-result';
import { decodeIpfix } from './ipfix';
import { decodeV5, V5_PLAN } from './netflow-v5';
import { decodeV9 } from './netflow-v9';
import { PendingStore } from './pending-data';
import { createRecordCompiler } from './record-compiler';
import { DecoderCore } from './set-handling';
import { TemplateCache, type Template } from './template-cache';

export interface FlowDecoderOptions {
  /**
   * Templates not refreshed for this long are forgotten (RFC 7011 §8.4). Default 90 minutes: three
   * times the 30-minute refresh interval common on routers. Use Infinity for IPFIX over TCP, where
   * templates live as long as the connection (call `dropScope` when it closes).
   */
  templateTtlMs?: number;
  /** How long data sets wait for their template. Default 60 s. */
  pendingTtlMs?: number;
  /** Bytes of waiting data sets per scope (default 256 KiB) and in total (default 16 MiB). */
  maxPendingBytesPerScope?: number;
  maxPendingBytes?: number;
  /** Scopes (exporters) tracked; the least recently seen is evicted beyond it. Default 10,000. */
  maxScopes?: number;
  /** Observation domains / source ids per scope and version. Default 64. */
  maxDomainsPerScope?: number;
  /** Templates (data + options) per scope. Default 1,024. */
  maxTemplatesPerScope?: number;
  /** Fields per template. Default 256. */
  maxFieldsPerTemplate?: number;
  /** Distinct sampler / selector ids per domain. Default 256. */
  maxSamplersPerDomain?: number;
  /** Domains and scopes with no templates, pending data or traffic for this long are dropped by `expire`. Default 30 min. */
  scopeIdleMs?: number;
  /** Compile templates to generated JavaScript (default) or run them through the plan interpreter. */
  codegen?: boolean;
  /** Records a new template decodes on the interpreter before it is compiled. Default 64. */
  compileAfterRecords?: number;
}

export interface DomainSummary {
  version: 5 | 9 | 10;
  observationDomain: number;
  templates: number;
  pendingSets: number;
  /** Records (v5, IPFIX) or export packets (v9) missing from the sequence so far. */
  lost: number;
  sequenceResets: number;
  /** Rate applied to records that carry no sampling information of their own. */
  samplingRate: number;
  lastSeenMs: number;
}

export interface ScopeSummary {
  scopeKey: string;
  templates: number;
  pendingBytes: number;
  lastSeenMs: number;
  domains: DomainSummary[];
}

export interface FlowDecoder {
  /**
   * Decodes one datagram (one IPFIX message, one NetFlow v9 or v5 export packet). `scopeKey`
   * identifies the exporter, e.g. "192.0.2.1:2055" for UDP or the DSN key id for HTTP ingest.
   * Never throws; refusals are reported in the result and counted.
   */
  decode(datagram: Uint8Array, scopeKey: string, nowMs: number, mode?: MissingTemplateMode): DecodeResult;
  /** Forgets expired templates and pending data and idle exporters. */
  expire(nowMs: number): { templates: number; pendingSets: number; scopes: number };
  /** Forgets one exporter's state (e.g. its TCP connection closed). */
  dropScope(scopeKey: string): boolean;
  /** A snapshot of the counters and gauges. */
  stats(): DecoderStats;
  /** Per-exporter view for diagnostics. */
  scopeSummaries(): ScopeSummary[];
  /** Whether templates run as generated code (false: interpreter). */
  readonly codegen: boolean;
}

export function createFlowDecoder(options: FlowDecoderOptions = {}): FlowDecoder {
  const o = {
    templateTtlMs: options.templateTtlMs ?? 90 * 60_000,
    pendingTtlMs: options.pendingTtlMs ?? 60_000,
    maxPendingBytesPerScope: options.maxPendingBytesPerScope ?? 256 * 1024,
    maxPendingBytes: options.maxPendingBytes ?? 16 * 1024 * 1024,
    maxScopes: options.maxScopes ?? 10_000,
    maxDomainsPerScope: options.maxDomainsPerScope ?? 64,
    maxTemplatesPerScope: options.maxTemplatesPerScope ?? 1024,
    maxFieldsPerTemplate: options.maxFieldsPerTemplate ?? 256,
    maxSamplersPerDomain: options.maxSamplersPerDomain ?? 256,
    scopeIdleMs: options.scopeIdleMs ?? 30 * 60_000,
    codegen: options.codegen ?? true,
    compileAfterRecords: options.compileAfterRecords ?? 64,
  };
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number' && !(v >= 0)) throw new RangeError(`flow decoder option ${k} must be a non-negative number, got ${v}`);
  }
  const stats = emptyStats();
  const pending = new PendingStore({ maxBytesPerScope: o.maxPendingBytesPerScope, maxBytesTotal: o.maxPendingBytes, ttlMs: o.pendingTtlMs });
  const cache = new TemplateCache(
    {
      maxScopes: Math.max(1, o.maxScopes),
      maxDomainsPerScope: o.maxDomainsPerScope,
      maxTemplatesPerScope: o.maxTemplatesPerScope,
      templateTtlMs: o.templateTtlMs,
    },
    (scope) => {
      const n = pending.dropScope(scope);
      if (n > 0) core.countExpired(null, n);
    },
  );
  const compiler = createRecordCompiler({ codegen: o.codegen, cacheSize: 512 });
  const core = new DecoderCore(cache, pending, compiler, stats, {
    maxFieldsPerTemplate: o.maxFieldsPerTemplate,
    maxSamplersPerDomain: o.maxSamplersPerDomain,
    compileAfterRecords: o.compileAfterRecords,
  });
  const v5: Template = {
    id: 0,
    options: false,
    raw: new Uint8Array(0),
    plan: V5_PLAN,
    decode: compiler.compile(V5_PLAN),
    interpretedRecords: -1,
    updatedMs: 0,
  };

  return {
    decode(datagram, scopeKey, nowMs, mode = 'buffer') {
      const result = emptyResult();
      try {
        if (datagram.length < 2) return core.reject(result, 'too_short');
        const dv = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
        switch (dv.getUint16(0)) {
          case 5:
            return decodeV5(core, v5, dv, datagram, result, scopeKey, nowMs, mode);
          case 9:
            return decodeV9(core, dv, datagram, result, scopeKey, nowMs, mode);
          case 10:
            return decodeIpfix(core, dv, datagram, result, scopeKey, nowMs, mode);
          default:
            return core.reject(result, 'unknown_version');
        }
      } catch {
        // A bug, not an input problem: every length is checked before it is used. Count and move on.
        result.flows = [];
        return core.reject(result, 'internal_error');
      }
    },

    expire(nowMs) {
      let pendingSets = 0;
      for (const scope of cache.scopes.values()) {
        for (const d of scope.domains.values()) pendingSets += pending.expire(scope, d, nowMs);
      }
      if (pendingSets > 0) core.countExpired(null, pendingSets);
      const { templates, scopes } = cache.expire(nowMs, o.scopeIdleMs);
      return { templates, pendingSets, scopes };
    },

    dropScope(scopeKey) {
      const s = cache.scopes.get(scopeKey);
      if (s === undefined) return false;
      cache.removeScope(s);
      return true;
    },

    stats() {
      const snapshot = structuredClone(stats);
      snapshot.templates.compiled = compiler.compilations;
      snapshot.templates.expired = cache.counters.templatesExpired;
      snapshot.templates.active = cache.templateCount();
      snapshot.scopesEvicted = cache.counters.scopesEvicted;
      snapshot.pending.sets = pending.sets;
      snapshot.pending.bytes = pending.bytes;
      snapshot.scopes = cache.scopes.size;
      let domains = 0;
      for (const s of cache.scopes.values()) domains += s.domains.size;
      snapshot.domains = domains;
      return snapshot;
    },

    scopeSummaries() {
      return [...cache.scopes.values()].map((s) => ({
        scopeKey: s.key,
        templates: s.templateCount,
        pendingBytes: s.pendingBytes,
        lastSeenMs: s.lastSeenMs,
        domains: [...s.domains.values()].map((d) => ({
          version: d.version,
          observationDomain: d.id,
          templates: d.templates.size,
          pendingSets: d.pendingSets,
          lost: d.sequence.lostTotal,
          sequenceResets: d.sequence.resets,
          samplingRate: d.sampling.defaultRate > 0 ? d.sampling.defaultRate : 1,
          lastSeenMs: d.lastSeenMs,
        })),
      }));
    },

    get codegen() {
      return compiler.codegen;
    },
  };
}
