/**
 * Compiles a record plan into a set decoder: a function that walks every record of one data set,
 * fills the accumulator and hands each record to a sink.
 *
 * Why generated code: a template is compiled once and then decodes millions of records. Emitting one
 * straight-line function per layout (constant offsets, one DataView read per field, direct property
 * stores on a single accumulator class) gives V8 monomorphic code it can inline, with no per-field
 * dispatch, closure call or allocation. The source text is assembled only from the fixed snippets in
 * this file; the variable parts are integers (offsets and lengths, checked to be small non-negative
 * integers) and slot names checked against the accumulator's own fields, so nothing read from a
 * datagram can reach the generated text. Where code generation from strings is disabled
 * (`--disallow-code-generation-from-strings`) or unwanted, the same plan runs through an interpreter
 * with identical results; tests run both.
 *
 * Compilation is tiered: a new template starts on the interpreter and is compiled once it has decoded
 * `compileAfterRecords` records, so an exporter announcing thousands of layouts it never uses costs a
 * plan each, not a code generation each. Compiled layouts are cached and shared across exporters.
 */
import { FlowAccumulator } from './flow-accumulator';
import type { PlanOp, RecordPlan } from './record-plan';
import { ntpToUnixMs } from './timestamps';

/** Receives each decoded record. The accumulator is reused; copy what you keep. */
export type RecordSink<C> = (acc: FlowAccumulator, buf: Uint8Array, ctx: C) => void;

/**
 * Decodes the records between `start` and `end`. Returns the offset after the last record (trailing
 * bytes shorter than a record are padding), or -1 when a variable-length record runs past `end`
 * (records before it were delivered).
 */
export type SetDecoder = <C>(
  dv: DataView,
  buf: Uint8Array,
  start: number,
  end: number,
  acc: FlowAccumulator,
  ctx: C,
  sink: RecordSink<C>,
) => number;

const SLOTS: ReadonlySet<string> = new Set(Object.keys(new FlowAccumulator()));

function checkedInt(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0x1_0000_0000) throw new Error(`invalid plan integer ${n}`);
  return n;
}

function readExpr(op: PlanOp, at: string): string {
  switch (op.kind) {
    case 'ipv4':
    case 'seconds':
    case 'uint':
      break;
    case 'ipv6':
      return at;
    case 'ntp':
      return `ntpToUnixMs(dv.getUint32(${at}), dv.getUint32(${at} + 4))`;
    default:
      throw new Error(`no read for ${op.kind}`);
  }
  if (op.kind === 'seconds') return `dv.getUint32(${at}) * 1000`;
  if (op.kind === 'ipv4') return `dv.getUint32(${at})`;
  switch (op.length) {
    case 1:
      return `buf[${at}]`;
    case 2:
      return `dv.getUint16(${at})`;
    case 3:
      return `(dv.getUint16(${at}) * 256 + buf[${at} + 2])`;
    case 4:
      return `dv.getUint32(${at})`;
    case 5:
      return `(buf[${at}] * 4294967296 + dv.getUint32(${at} + 1))`;
    case 6:
      return `(dv.getUint16(${at}) * 4294967296 + dv.getUint32(${at} + 2))`;
    case 7:
      return `((dv.getUint16(${at}) * 256 + buf[${at} + 2]) * 4294967296 + dv.getUint32(${at} + 3))`;
    case 8:
      return `(dv.getUint32(${at}) * 4294967296 + dv.getUint32(${at} + 4))`;
    default:
      throw new Error(`unsupported integer length ${op.length}`);
  }
}

/** JavaScript source of the set decoder for `plan`. Exported for inspection in tests. */
export function generateSource(plan: RecordPlan): string {
  const lines: string[] = [];
  const min = checkedInt(plan.minLength);
  lines.push(`while (p + ${min} <= end) {`, '  acc.reset();');
  let off = 0;
  let afterVariable = false;
  let segment: string[] = [];
  let segmentLength = 0;
  const flush = (): void => {
    if (segmentLength > 0 && afterVariable) lines.push(`  if (p + ${segmentLength} > end) return -1;`);
    lines.push(...segment);
    if (off > 0) lines.push(`  p += ${off};`);
    segment = [];
    segmentLength = 0;
    off = 0;
  };
  for (const op of plan.ops) {
    if (op.kind === 'varskip') {
      flush();
      lines.push(
        '  if (p >= end) return -1;',
        '  l = buf[p++];',
        '  if (l === 255) { if (p + 2 > end) return -1; l = dv.getUint16(p); p += 2; }',
        '  p += l;',
        '  if (p > end) return -1;',
      );
      afterVariable = true;
      continue;
    }
    const length = checkedInt(op.length);
    if (op.kind !== 'skip') {
      if (!SLOTS.has(op.slot)) throw new Error(`unknown slot ${op.slot}`);
      segment.push(`  acc.${op.slot} = ${readExpr(op, off === 0 ? 'p' : `p + ${off}`)};`);
    }
    off += length;
    segmentLength += length;
  }
  flush();
  lines.push('  sink(acc, buf, ctx);', '}', 'return p;');
  return lines.join('\n');
}

function generated(plan: RecordPlan): SetDecoder {
  const body = `"use strict";\nreturn function decodeSet(dv, buf, p, end, acc, ctx, sink) {\nlet l = 0;\n${generateSource(plan)}\n};`;
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- see the file comment.
  const factory = new Function('ntpToUnixMs', body) as (ntp: typeof ntpToUnixMs) => SetDecoder;
  return factory(ntpToUnixMs);
}

function readValue(op: Exclude<PlanOp, { kind: 'skip' } | { kind: 'varskip' }>, dv: DataView, buf: Uint8Array, at: number): number {
  switch (op.kind) {
    case 'ipv6':
      return at;
    case 'ipv4':
      return dv.getUint32(at);
    case 'seconds':
      return dv.getUint32(at) * 1000;
    case 'ntp':
      return ntpToUnixMs(dv.getUint32(at), dv.getUint32(at + 4));
    case 'uint': {
      // Above 4 bytes: high part times 2^32 plus the low 32 bits, rounded once, as the generated
      // code does (counters past 2^53 lose their low bits the same way on both paths).
      const high = op.length > 4 ? op.length - 4 : 0;
      let v = 0;
      for (let i = 0; i < high; i++) v = v * 256 + buf[at + i]!;
      if (high === 0) {
        for (let i = 0; i < op.length; i++) v = v * 256 + buf[at + i]!;
        return v;
      }
      return v * 4294967296 + dv.getUint32(at + high);
    }
  }
}

/** The same semantics as the generated code, one op at a time. */
function interpreted(plan: RecordPlan): SetDecoder {
  const ops = plan.ops;
  const min = plan.minLength;
  return (dv, buf, p, end, acc, ctx, sink) => {
    while (p + min <= end) {
      acc.reset();
      for (const op of ops) {
        if (op.kind === 'varskip') {
          if (p >= end) return -1;
          let l = buf[p++]!;
          if (l === 255) {
            if (p + 2 > end) return -1;
            l = dv.getUint16(p);
            p += 2;
          }
          p += l;
          if (p > end) return -1;
          continue;
        }
        if (p + op.length > end) return -1;
        if (op.kind !== 'skip') acc[op.slot] = readValue(op, dv, buf, p);
        p += op.length;
      }
      sink(acc, buf, ctx);
    }
    return p;
  };
}

export interface RecordCompilerOptions {
  /** Generate specialised JavaScript per layout (default true); false runs the plan interpreter. */
  codegen: boolean;
  /** Compiled layouts kept for reuse across exporters and template refreshes. */
  cacheSize: number;
}

export interface RecordCompiler {
  /** Generated code for the layout (cached), or the interpreter when code generation is off. */
  compile(plan: RecordPlan): SetDecoder;
  /** The interpreter for the layout: cheap to create, used until a template has proven itself. */
  interpret(plan: RecordPlan): SetDecoder;
  /** Layouts compiled to generated code so far (cache misses). */
  readonly compilations: number;
  /** Whether generated code is in use (false when disabled or refused by the runtime). */
  readonly codegen: boolean;
}

export function createRecordCompiler(options: RecordCompilerOptions): RecordCompiler {
  const cache = new Map<string, SetDecoder>();
  let compilations = 0;
  let codegen = options.codegen;
  return {
    compile(plan) {
      if (!codegen) return interpreted(plan);
      const hit = cache.get(plan.key);
      if (hit !== undefined) return hit;
      let decoder: SetDecoder;
      try {
        decoder = generated(plan);
      } catch (err) {
        if (!(err instanceof EvalError)) throw err;
        codegen = false;
        return interpreted(plan);
      }
      compilations++;
      if (cache.size >= options.cacheSize) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      cache.set(plan.key, decoder);
      return decoder;
    },
    interpret(plan) {
      return cache.get(plan.key) ?? interpreted(plan);
    },
    get compilations() {
      return compilations;
    },
    get codegen() {
      return codegen;
    },
  };
}
