import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FlowAccumulator } from './flow-accumulator';
import { createRecordCompiler, generateSource, type SetDecoder } from './record-compiler';
import { buildPlan, VARIABLE_LENGTH, type FieldSpec } from './record-plan';

const KNOWN_IDS = [1, 2, 4, 5, 6, 7, 8, 10, 11, 12, 15, 16, 21, 22, 27, 28, 34, 48, 61, 62, 85, 150, 151, 152, 153, 154, 155, 156, 157, 158, 160, 161, 231, 239, 302, 305, 306];

const field: fc.Arbitrary<FieldSpec> = fc.record({
  id: fc.oneof(fc.constantFrom(...KNOWN_IDS), fc.integer({ min: 0, max: 0x7fff })),
  pen: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(29305, 9) }),
  length: fc.oneof(fc.constantFrom(1, 2, 4, 8, 16, VARIABLE_LENGTH), fc.integer({ min: 0, max: 20 })),
});

function run(decoder: SetDecoder, buf: Uint8Array): { end: number; records: Record<string, number>[] } {
  const records: Record<string, number>[] = [];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = decoder(dv, buf, 0, buf.length, new FlowAccumulator(), null, (acc) => records.push({ ...acc }));
  return { end, records };
}

describe('record compiler', () => {
  it('generated code and the interpreter decode any layout and bytes identically', () => {
    const gen = createRecordCompiler({ codegen: true, cacheSize: 64 });
    const interp = createRecordCompiler({ codegen: false, cacheSize: 64 });
    fc.assert(
      fc.property(fc.array(field, { minLength: 1, maxLength: 12 }), fc.uint8Array({ maxLength: 300 }), (fields, bytes) => {
        const plan = buildPlan(fields, { variableLength: true, skipLeading: 0 });
        fc.pre(plan.minLength > 0);
        assert.deepEqual(run(gen.compile(plan), bytes), run(interp.compile(plan), bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it('keeps the finest time resolution and the first of duplicated elements', () => {
    const plan = buildPlan(
      [
        { id: 150, pen: 0, length: 4 },
        { id: 156, pen: 0, length: 8 },
        { id: 152, pen: 0, length: 8 },
        { id: 7, pen: 0, length: 2 },
        { id: 7, pen: 0, length: 2 },
      ],
      { variableLength: true, skipLeading: 0 },
    );
    assert.deepEqual(plan.ops, [
      { kind: 'skip', length: 4 },
      { kind: 'ntp', slot: 'startMs', length: 8 },
      { kind: 'skip', length: 8 },
      { kind: 'uint', slot: 'srcPort', length: 2 },
      { kind: 'skip', length: 2 },
    ]);
    assert.equal(plan.minLength, 24);
  });

  it('generates straight-line code from fixed snippets and integers only', () => {
    const plan = buildPlan(
      [
        { id: 8, pen: 0, length: 4 },
        { id: 82, pen: 0, length: VARIABLE_LENGTH },
        { id: 1, pen: 0, length: 8 },
        { id: 27, pen: 0, length: 16 },
      ],
      { variableLength: true, skipLeading: 0 },
    );
    const src = generateSource(plan);
    assert.match(src, /acc\.src4 = dv\.getUint32\(p\);/);
    assert.match(src, /acc\.octets = \(dv\.getUint32\(p\) \* 4294967296 \+ dv\.getUint32\(p \+ 4\)\);/);
    assert.match(src, /acc\.src6 = p \+ 8;/);
    assert.match(src, /if \(p \+ 24 > end\) return -1;/);
    // Identifiers are only the decoder's own; every literal is a number.
    const words = new Set(src.match(/[A-Za-z_]\w*/g));
    for (const w of words) assert.ok(/^(while|if|return|let|acc|reset|dv|getUint(8|16|32)|buf|p|l|end|sink|ctx|src4|src6|octets)$/.test(w), w);
  });

  it('compiles each layout once', () => {
    const c = createRecordCompiler({ codegen: true, cacheSize: 2 });
    const p1 = buildPlan([{ id: 1, pen: 0, length: 4 }], { variableLength: false, skipLeading: 0 });
    const p2 = buildPlan([{ id: 2, pen: 0, length: 4 }], { variableLength: false, skipLeading: 0 });
    const p3 = buildPlan([{ id: 4, pen: 0, length: 1 }], { variableLength: false, skipLeading: 0 });
    assert.equal(c.compile(p1), c.compile(p1));
    c.compile(p2);
    c.compile(p3);
    assert.equal(c.compilations, 3);
    c.compile(p1); // evicted by the cache bound, compiled again
    assert.equal(c.compilations, 4);
  });
});
