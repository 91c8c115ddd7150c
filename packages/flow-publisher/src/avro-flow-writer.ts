/**
 * Encodes flow records as `vigil.flows.v1` values: Confluent wire format (magic byte 0, 4-byte schema
 * id) followed by the Avro binary encoding of the Flow schema from @vigil/contracts.
 *
 * Why not the registry codec's `encode`: it is asynchronous and goes through a general-purpose Avro
 * library, several microseconds per record; a collector writes hundreds of thousands of records per
 * second. The Flow schema is a flat record of ints, longs, strings and nullable ones, so the writer
 * walks a field list compiled from the schema once and writes varints straight into a shared slab.
 * Its output is checked byte for byte against the general-purpose encoder in the tests, and any schema
 * with another shape is refused at construction instead of being encoded wrongly.
 */
import { AVRO_SCHEMAS, type FlowRecord } from '@vigil/contracts';
import type { DecodedFlow } from '@vigil/flow-decoder';

/** Who a decoded flow belongs to and when it arrived: the fields a FlowRecord adds to a DecodedFlow. */
export interface FlowAttribution {
  projectId: number;
  /** Exporter IP address as text. */
  exporter: string;
  receivedAtMs: number;
}

type Kind = 'int' | 'long' | 'string';

interface FieldOp {
  name: string;
  kind: Kind;
  nullable: boolean;
  /** Index into the attribution values, or -1 when the value comes from the decoded flow. */
  attribution: number;
}

const ATTRIBUTION_FIELDS = ['project_id', 'exporter', 'received_at_ms'] as const;
const SLAB_BYTES = 256 * 1024;
/** Longs the writer accepts: what the registry codec (avsc) also accepts and every reader decodes exactly. */
const MIN_LONG = -(2 ** 52);
const MAX_LONG = Number.MAX_SAFE_INTEGER - 1;

function kindOf(type: unknown, field: string): { kind: Kind; nullable: boolean } {
  const base = (t: unknown): Kind | null => {
    const name = typeof t === 'string' ? t : typeof t === 'object' && t !== null ? (t as { type?: unknown }).type : null;
    return name === 'int' || name === 'long' || name === 'string' ? name : null;
  };
  const plain = base(type);
  if (plain !== null) return { kind: plain, nullable: false };
  if (Array.isArray(type) && type.length === 2 && type[0] === 'null') {
    const inner = base(type[1]);
    if (inner !== null) return { kind: inner, nullable: true };
  }
  throw new Error(`flow schema field ${field} has type ${JSON.stringify(type)}, which the flow writer does not encode`);
}

export function compileFlowFields(schema: object): FieldOp[] {
  const fields = (schema as { fields?: { name: string; type: unknown }[] }).fields;
  if (!Array.isArray(fields)) throw new Error('flow schema is not a record');
  return fields.map((fd) => ({
    name: fd.name,
    ...kindOf(fd.type, fd.name),
    attribution: (ATTRIBUTION_FIELDS as readonly string[]).indexOf(fd.name),
  }));
}

function invalid(name: string, value: unknown, kind: string): Error {
  return new TypeError(`flow field ${name}: ${JSON.stringify(value)} is not a valid ${kind}`);
}

/** Zigzag varint of an integer in [-2^52, 2^53 - 2]. Returns the new position. */
function writeLong(buf: Buffer, pos: number, n: number): number {
  if (n >= -0x40000000 && n < 0x40000000) {
    let z = ((n << 1) ^ (n >> 31)) >>> 0;
    while (z > 0x7f) {
      buf[pos++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[pos++] = z;
    return pos;
  }
  let z = n >= 0 ? n * 2 : -n * 2 - 1;
  while (z >= 0x80) {
    buf[pos++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[pos++] = z;
  return pos;
}

function writeString(buf: Buffer, pos: number, s: string): number {
  const n = s.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    pos = writeLong(buf, pos, n);
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
    return pos;
  }
  const bytes = Buffer.byteLength(s);
  pos = writeLong(buf, pos, bytes);
  return pos + buf.write(s, pos, 'utf8');
}

/** Writes the record's fields at `pos`; returns the end. `att`: attribution values, or null for a full record. */
type FieldsWriter = (src: Record<string, unknown>, att: unknown[] | null, buf: Buffer, pos: number) => number;
/** An upper bound of the encoded size: 11 bytes per varint with its union index, 3 per UTF-16 unit of strings. */
type SizeBound = (src: Record<string, unknown>, att: unknown[] | null) => number;

function interpretedWriter(ops: readonly FieldOp[]): { write: FieldsWriter; bound: SizeBound } {
  const value = (op: FieldOp, src: Record<string, unknown>, att: unknown[] | null) => (att !== null && op.attribution >= 0 ? att[op.attribution] : src[op.name]);
  return {
    bound(src, att) {
      let bound = 5;
      for (const op of ops) {
        const v = value(op, src, att);
        bound += op.kind === 'string' && typeof v === 'string' ? 11 + 3 * v.length : 11;
      }
      return bound;
    },
    write(src, att, buf, pos) {
      for (const op of ops) {
        const v = value(op, src, att);
        if (op.nullable) {
          if (v === null || v === undefined) {
            buf[pos++] = 0;
            continue;
          }
          buf[pos++] = 2;
        }
        switch (op.kind) {
          case 'int':
            if (typeof v !== 'number' || (v | 0) !== v) throw invalid(op.name, v, 'int');
            pos = writeLong(buf, pos, v);
            break;
          case 'long':
            if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_LONG || v > MAX_LONG) throw invalid(op.name, v, 'long');
            pos = writeLong(buf, pos, v);
            break;
          case 'string':
            if (typeof v !== 'string') throw invalid(op.name, v, 'string');
            pos = writeString(buf, pos, v);
            break;
        }
      }
      return pos;
    },
  };
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The same writer as straight-line generated code: one statement per field, constant property names
 * and checks, no per-field dispatch. Only field names matching a plain identifier and integers reach
 * the generated text.
 */
function generatedWriter(ops: readonly FieldOp[]): { write: FieldsWriter; bound: SizeBound } {
  const read = (op: FieldOp) => (op.attribution >= 0 ? `(att !== null ? att[${op.attribution}] : src.${op.name})` : `src.${op.name}`);
  const lines: string[] = [];
  const strings: string[] = [];
  ops.forEach((op) => {
    if (!IDENTIFIER.test(op.name)) throw new Error(`flow schema field name ${JSON.stringify(op.name)} is not a plain identifier`);
    const name = JSON.stringify(op.name);
    lines.push(`v = ${read(op)};`);
    let check: string;
    let write: string;
    if (op.kind === 'int') {
      check = `if (typeof v !== 'number' || (v | 0) !== v) throw invalid(${name}, v, 'int');`;
      write = 'pos = writeLong(buf, pos, v);';
    } else if (op.kind === 'long') {
      check = `if (typeof v !== 'number' || !Number.isInteger(v) || v < ${MIN_LONG} || v > ${MAX_LONG}) throw invalid(${name}, v, 'long');`;
      write = 'pos = writeLong(buf, pos, v);';
    } else {
      check = `if (typeof v !== 'string') throw invalid(${name}, v, 'string');`;
      write = 'pos = writeString(buf, pos, v);';
      strings.push(`v = ${read(op)}; if (typeof v === 'string') n += 3 * v.length;`);
    }
    if (op.nullable) lines.push(`if (v === null || v === undefined) { buf[pos++] = 0; } else { buf[pos++] = 2; ${check} ${write} }`);
    else lines.push(check, write);
  });
  const factory = new Function(
    'writeLong',
    'writeString',
    'invalid',
    `return {
      write(src, att, buf, pos) { let v; ${lines.join('\n')} return pos; },
      bound(src, att) { let v; let n = ${5 + 11 * ops.length}; ${strings.join('\n')} return n; },
    };`,
  ) as (l: typeof writeLong, s: typeof writeString, i: typeof invalid) => { write: FieldsWriter; bound: SizeBound };
  return factory(writeLong, writeString, invalid);
}

export interface AvroFlowWriterOptions {
  /** The schema written (default: the contract's Flow schema). */
  schema?: object;
  /** Generate straight-line code for the schema (default), or walk the field list. */
  codegen?: boolean;
}

export class AvroFlowWriter {
  private readonly ops: FieldOp[];
  private readonly header: Buffer;
  private readonly fields: { write: FieldsWriter; bound: SizeBound };
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  private pos = 0;
  private readonly attributionValues: unknown[] = [0, '', 0];
  /** Whether the schema runs as generated code (false where the runtime forbids code generation). */
  readonly codegen: boolean;

  /** `schemaId`: the registry id of the schema under the flows topic's subject. */
  constructor(
    readonly schemaId: number,
    options: AvroFlowWriterOptions = {},
  ) {
    this.ops = compileFlowFields(options.schema ?? AVRO_SCHEMAS.flows);
    for (const name of ATTRIBUTION_FIELDS) {
      if (!this.ops.some((op) => op.name === name)) throw new Error(`flow schema has no ${name} field`);
    }
    this.header = Buffer.alloc(5);
    this.header.writeUInt32BE(schemaId, 1);
    let fields: { write: FieldsWriter; bound: SizeBound } | null = null;
    if (options.codegen !== false) {
      try {
        fields = generatedWriter(this.ops);
      } catch (err) {
        if (!(err instanceof EvalError)) throw err;
      }
    }
    this.codegen = fields !== null;
    this.fields = fields ?? interpretedWriter(this.ops);
  }

  /** A decoded flow with its attribution, as a message value. Throws on a value the schema cannot carry. */
  encodeFlow(flow: DecodedFlow, attribution: FlowAttribution): Buffer {
    const values = this.attributionValues;
    values[0] = attribution.projectId;
    values[1] = attribution.exporter;
    values[2] = attribution.receivedAtMs;
    return this.encode(flow as unknown as Record<string, unknown>, values);
  }

  /** A complete FlowRecord as a message value. */
  encodeRecord(record: FlowRecord): Buffer {
    return this.encode(record as unknown as Record<string, unknown>, null);
  }

  private encode(source: Record<string, unknown>, attribution: unknown[] | null): Buffer {
    const bound = this.fields.bound(source, attribution);
    if (this.pos + bound > this.slab.length) {
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, bound));
      this.pos = 0;
    }
    const buf = this.slab;
    const start = this.pos;
    this.header.copy(buf, start);
    const end = this.fields.write(source, attribution, buf, start + 5);
    this.pos = end;
    return buf.subarray(start, end);
  }
}
