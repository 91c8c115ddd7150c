/**
 * Turns a template's field list into a record plan: the sequence of reads and skips a record decoder
 * performs. Decisions taken once per template, never per record: which field fills which slot (the
 * first occurrence wins; for start/end times the finest resolution wins), which fields are skipped,
 * and the minimum record length.
 */
import type { Slot } from './flow-accumulator';
import { elementMeaning, lengthFits, type ReadKind } from './information-elements';

/** One template field as it appears on the wire. */
export interface FieldSpec {
  /** Element id without the enterprise bit. */
  id: number;
  /** Private Enterprise Number; 0 for IANA elements and NetFlow v9 field types. */
  pen: number;
  /** Field length in bytes, or VARIABLE_LENGTH (IPFIX only). */
  length: number;
}

export const VARIABLE_LENGTH = 0xffff;

export type PlanOp =
  | { kind: 'skip'; length: number }
  | { kind: 'varskip' }
  | { kind: ReadKind; slot: Slot; length: number };

export interface RecordPlan {
  ops: readonly PlanOp[];
  /** Bytes the shortest possible record occupies (a variable-length field counts 1). */
  minLength: number;
  variable: boolean;
  /** Identity of the generated decoder: equal keys decode identically. */
  key: string;
}

export interface PlanOptions {
  /** IPFIX: 0xffff means a variable-length field. NetFlow v9 has no variable-length fields. */
  variableLength: boolean;
  /** Leading fields to skip whatever they are (NetFlow v9 options scope fields). */
  skipLeading: number;
}

export function buildPlan(fields: readonly FieldSpec[], opts: PlanOptions): RecordPlan {
  // Finest time precision present per time slot, so coarser duplicates are skipped.
  const bestPrecision = new Map<Slot, number>();
  fields.forEach((f, i) => {
    if (i < opts.skipLeading) return;
    const m = elementMeaning(f.pen, f.id);
    if (m?.timePrecision !== undefined && lengthFits(m.kind, f.length)) {
      bestPrecision.set(m.slot, Math.max(bestPrecision.get(m.slot) ?? 0, m.timePrecision));
    }
  });
  const taken = new Set<Slot>();
  const ops: PlanOp[] = [];
  let minLength = 0;
  let variable = false;
  const skip = (length: number): void => {
    const last = ops[ops.length - 1];
    if (last?.kind === 'skip') last.length += length;
    else ops.push({ kind: 'skip', length });
  };
  fields.forEach((f, i) => {
    if (opts.variableLength && f.length === VARIABLE_LENGTH) {
      ops.push({ kind: 'varskip' });
      minLength += 1;
      variable = true;
      return;
    }
    minLength += f.length;
    const m = i < opts.skipLeading ? undefined : elementMeaning(f.pen, f.id);
    const usable =
      m !== undefined &&
      lengthFits(m.kind, f.length) &&
      !taken.has(m.slot) &&
      (m.timePrecision === undefined || m.timePrecision === bestPrecision.get(m.slot));
    if (!usable || m === undefined) {
      if (f.length > 0) skip(f.length);
      return;
    }
    taken.add(m.slot);
    ops.push({ kind: m.kind, slot: m.slot, length: f.length });
  });
  const key = ops.map((op) => (op.kind === 'skip' ? `s${op.length}` : op.kind === 'varskip' ? 'v' : `${op.kind}${op.length}:${op.slot}`)).join(',');
  return { ops, minLength, variable, key };
}
