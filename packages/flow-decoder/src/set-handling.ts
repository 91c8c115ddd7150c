/**
 * What happens to a parsed template record or data set, shared by NetFlow v9 and IPFIX: templates are
 * installed, refreshed, replaced or withdrawn; data sets are decoded with their template, deferred to
 * the end of the datagram when the template comes later in it, then buffered or reported missing; the
 * sequence number is checked; and every refusal is counted with its reason.
 */
import type { DecodeResult, DecoderStats, MissingTemplateMode } from './decode-result';
import type { DropReason } from './drop-reasons';
import { FlowAccumulator } from './flow-accumulator';
import { applyOptions, emitFlow, RecordContext } from './flow-normalizer';
import type { PendingSet, PendingStore } from './pending-data';
import type { RecordCompiler } from './record-compiler';
import { buildPlan, type FieldSpec, type PlanOptions } from './record-plan';
import type { DomainState, ScopeState, Template, TemplateCache } from './template-cache';

/** Longest record any message can carry (65535 minus the IPFIX message and set headers). */
const MAX_RECORD_LENGTH = 65_515;

export interface CoreLimits {
  maxFieldsPerTemplate: number;
  maxSamplersPerDomain: number;
  /** Records a template decodes on the interpreter before it is compiled to generated code. */
  compileAfterRecords: number;
}

interface DeferredSet {
  templateId: number;
  start: number;
  end: number;
}

function sameBytes(a: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  if (a.length !== end - start) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

export class DecoderCore {
  readonly acc = new FlowAccumulator();
  readonly ctx = new RecordContext();
  private result: DecodeResult | null = null;
  private scope: ScopeState | null = null;
  private domain: DomainState = this.ctx.domain;
  private nowMs = 0;
  private mode: MissingTemplateMode = 'buffer';
  private deferred: DeferredSet[] | null = null;
  private released: PendingSet[] | null = null;
  /** Withdraw-all already applied in this datagram: [data, options]. Repeats are no-ops. */
  private withdrewAll = [false, false];

  constructor(
    readonly cache: TemplateCache,
    readonly pending: PendingStore,
    readonly compiler: RecordCompiler,
    readonly stats: DecoderStats,
    readonly limits: CoreLimits,
  ) {
    this.ctx.maxSamplers = limits.maxSamplersPerDomain;
  }

  drop(result: DecodeResult, reason: DropReason, n = 1): void {
    result.drops[reason] = (result.drops[reason] ?? 0) + n;
    this.stats.drops[reason] += n;
  }

  reject(result: DecodeResult, reason: DropReason): DecodeResult {
    result.rejected = reason;
    this.stats.datagrams.rejected++;
    this.drop(result, reason);
    return result;
  }

  /** Starts a datagram; false (and the datagram rejected) when its domain cannot be tracked. */
  begin(
    result: DecodeResult,
    scopeKey: string,
    header: { version: 5 | 9 | 10; domain: number; sequence: number; exportMs: number; sysUptimeMs: number },
    nowMs: number,
    mode: MissingTemplateMode,
  ): DomainState | undefined {
    result.version = header.version;
    result.observationDomain = header.domain;
    result.sequence = header.sequence;
    const scope = this.cache.scope(scopeKey, nowMs);
    const domain = this.cache.domain(scope, header.version, header.domain, nowMs);
    if (domain === undefined) {
      this.reject(result, 'domain_limit');
      return undefined;
    }
    this.result = result;
    this.scope = scope;
    this.domain = domain;
    this.nowMs = nowMs;
    this.mode = mode;
    this.deferred = null;
    this.released = null;
    this.withdrewAll[0] = this.withdrewAll[1] = false;
    const ctx = this.ctx;
    ctx.version = header.version;
    ctx.domain = domain;
    ctx.sequence = header.sequence;
    ctx.exportMs = header.exportMs;
    ctx.sysUptimeMs = header.sysUptimeMs;
    ctx.out = result.flows;
    ctx.flowRecords = 0;
    ctx.optionsRecords = 0;
    ctx.noAddresses = 0;
    ctx.timeDefaulted = 0;
    ctx.samplerLimit = 0;
    return domain;
  }

  /** A template record [start, end) of the current datagram; `parse` reads its fields if it changed. */
  template(id: number, options: boolean, buf: Uint8Array, start: number, end: number, parse: () => FieldSpec[], planOptions: PlanOptions): void {
    const result = this.result!;
    const scope = this.scope!;
    const domain = this.domain;
    this.stats.templates.received++;
    if (id < 256) {
      this.drop(result, 'template_id_invalid');
      return;
    }
    const existing = domain.templates.get(id);
    if (existing !== undefined && existing.options === options && sameBytes(existing.raw, buf, start, end)) {
      existing.updatedMs = this.nowMs;
      this.release(id);
      return;
    }
    const plan = buildPlan(parse(), planOptions);
    if (plan.minLength === 0 || plan.minLength > MAX_RECORD_LENGTH) {
      this.drop(result, 'template_unusable');
      return;
    }
    if (!this.cache.hasRoom(scope, domain, id)) {
      this.drop(result, 'template_limit');
      return;
    }
    const t: Template = {
      id,
      options,
      raw: new Uint8Array(buf.subarray(start, end)),
      plan,
      decode: this.compiler.interpret(plan),
      interpretedRecords: 0,
      updatedMs: this.nowMs,
    };
    const outcome = this.cache.put(scope, domain, t);
    if (outcome === 'added') this.stats.templates.added++;
    else this.stats.templates.replaced++;
    this.release(id);
  }

  /** IPFIX template withdrawal of one id. */
  withdraw(id: number): void {
    if (this.cache.deleteTemplate(this.scope!, this.domain, id)) this.stats.templates.withdrawn++;
    else this.drop(this.result!, 'withdrawal_unknown');
  }

  /** IPFIX withdrawal of all data templates (set id 2) or all options templates (set id 3). */
  withdrawAll(options: boolean): void {
    const kind = options ? 1 : 0;
    if (this.withdrewAll[kind] === true) return;
    this.withdrewAll[kind] = true;
    for (const t of [...this.domain.templates.values()]) {
      if (t.options === options && this.cache.deleteTemplate(this.scope!, this.domain, t.id)) this.stats.templates.withdrawn++;
    }
  }

  /** A data set (records only, without the set header) of the current datagram. */
  dataSet(dv: DataView, buf: Uint8Array, templateId: number, start: number, end: number): void {
    const t = this.cache.template(this.scope!, this.domain, templateId, this.nowMs);
    if (t === undefined) (this.deferred ??= []).push({ templateId, start, end });
    else this.runSet(t, dv, buf, start, end);
  }

  runSet(t: Template, dv: DataView, buf: Uint8Array, start: number, end: number): void {
    const ctx = this.ctx;
    const before = ctx.flowRecords + ctx.optionsRecords;
    if (t.decode(dv, buf, start, end, this.acc, ctx, t.options ? applyOptions : emitFlow) < 0) {
      this.drop(this.result!, 'record_truncated');
    }
    if (t.interpretedRecords >= 0) {
      t.interpretedRecords += ctx.flowRecords + ctx.optionsRecords - before;
      if (t.interpretedRecords >= this.limits.compileAfterRecords) {
        t.decode = this.compiler.compile(t.plan);
        t.interpretedRecords = -1;
      }
    }
  }

  /**
   * Finishes the datagram: retries deferred sets, buffers or reports what is still missing, checks the
   * sequence number, then decodes buffered sets released by this datagram's templates.
   * `units` overrides what the sequence number counts (v5: records, v9: 1 packet).
   */
  end(dv: DataView, buf: Uint8Array, units: number | null): DecodeResult {
    const result = this.result!;
    const scope = this.scope!;
    const domain = this.domain;
    const ctx = this.ctx;
    let uncounted = false;
    if (this.deferred !== null) {
      const missing = new Set<number>();
      let expiredChecked = false;
      for (const d of this.deferred) {
        const t = this.cache.template(scope, domain, d.templateId, this.nowMs);
        if (t !== undefined) {
          this.runSet(t, dv, buf, d.start, d.end);
          continue;
        }
        uncounted = true;
        if (!missing.has(d.templateId)) {
          missing.add(d.templateId);
          result.missingTemplates.push(d.templateId);
        }
        if (this.mode === 'report-missing') {
          this.drop(result, 'missing_template');
          continue;
        }
        if (!expiredChecked) {
          expiredChecked = true;
          const expired = this.pending.expire(scope, domain, this.nowMs);
          if (expired > 0) this.countExpired(result, expired);
        }
        const outcome = this.pending.add(scope, domain, buf, d.start, d.end, {
          templateId: d.templateId,
          receivedMs: this.nowMs,
          exportMs: ctx.exportMs,
          sysUptimeMs: ctx.sysUptimeMs,
          sequence: ctx.sequence,
        });
        if (outcome === 'buffered') {
          result.bufferedSets++;
          this.stats.pending.bufferedSets++;
        } else this.drop(result, outcome);
      }
    }

    const flows = units ?? (uncounted ? -1 : ctx.flowRecords);
    const all = units ?? (uncounted ? -1 : ctx.flowRecords + ctx.optionsRecords);
    const lost = domain.sequence.observe(ctx.sequence, all, flows);
    result.lost = lost;
    if (lost > 0) {
      if (ctx.version === 9) this.stats.sequence.lostPackets += lost;
      else this.stats.sequence.lostRecords += lost;
    } else if (lost < 0) this.stats.sequence.resets++;

    if (this.released !== null) {
      for (const p of this.released) {
        const t = this.cache.template(scope, domain, p.templateId, this.nowMs);
        if (t === undefined) continue;
        ctx.exportMs = p.exportMs;
        ctx.sysUptimeMs = p.sysUptimeMs;
        ctx.sequence = p.sequence;
        const before = result.flows.length;
        this.runSet(t, new DataView(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength), p.bytes, 0, p.bytes.length);
        result.releasedFlows += result.flows.length - before;
        this.stats.pending.releasedSets++;
      }
      this.stats.pending.releasedFlows += result.releasedFlows;
    }

    if (ctx.noAddresses > 0) this.drop(result, 'no_ip_addresses', ctx.noAddresses);
    if (ctx.samplerLimit > 0) this.drop(result, 'sampler_limit', ctx.samplerLimit);
    this.stats.flows += result.flows.length;
    this.stats.optionsRecords += ctx.optionsRecords;
    this.stats.timestampsDefaulted += ctx.timeDefaulted;
    this.result = null;
    this.scope = null;
    return result;
  }

  countExpired(result: DecodeResult | null, n: number): void {
    this.stats.pending.expiredSets += n;
    this.stats.drops.pending_expired += n;
    if (result !== null) result.drops.pending_expired = (result.drops.pending_expired ?? 0) + n;
  }

  /** Takes the buffered sets waiting for `templateId`; they are decoded at the end of the datagram. */
  private release(templateId: number): void {
    if (!this.domain.pending.has(templateId)) return;
    const expired = { count: 0 };
    const ready = this.pending.take(this.scope!, this.domain, templateId, this.nowMs, expired);
    if (expired.count > 0) this.countExpired(this.result, expired.count);
    if (ready.length > 0) (this.released ??= []).push(...ready);
  }
}
