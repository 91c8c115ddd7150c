/**
 * Mutated and truncated real datagrams: the decoder never throws, never hangs, never hits its
 * internal-error path, emits only well-formed flows, and its state stays within the configured
 * bounds. About 20,000 generated cases; bench/collector/fuzz.ts runs a million.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { f, ipfix } from '../scripts/datagram-builder';
import { mutate, seedDatagrams, type Mutation } from '../scripts/mutation-corpus';
import { createFlowDecoder, createIpfixStreamFramer, parseNetflowBody, type DecodeResult, type FlowDecoderOptions } from './index';

const seeds = seedDatagrams();
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'set16', 'truncate', 'append', 'duplicate', 'zero'),
  at: fc.nat(),
  value: fc.nat(),
});
const mutated = fc
  .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([i, ms]) => mutate(seeds[i]!, ms));

const LIMITS: FlowDecoderOptions = {
  maxScopes: 8,
  maxDomainsPerScope: 4,
  maxTemplatesPerScope: 16,
  maxFieldsPerTemplate: 64,
  maxPendingBytesPerScope: 8 * 1024,
  maxPendingBytes: 32 * 1024,
  maxSamplersPerDomain: 8,
  templateTtlMs: 60_000,
  pendingTtlMs: 10_000,
};

function checkResult(r: DecodeResult, datagram: Uint8Array): void {
  assert.ok(Array.isArray(r.flows));
  for (const fl of r.flows) {
    assert.ok(fl.ip_version === 4 || fl.ip_version === 6);
    assert.equal(typeof fl.src_addr, 'string');
    assert.equal(typeof fl.dst_addr, 'string');
    for (const k of ['bytes', 'packets', 'flow_start_ms', 'flow_end_ms', 'sampling_rate', 'src_port', 'dst_port', 'protocol'] as const) {
      assert.ok(Number.isFinite(fl[k]), `${k} = ${fl[k]}`);
    }
    assert.ok(fl.sampling_rate >= 1, `sampling_rate ${fl.sampling_rate}`);
  }
  // Each set holds at least one byte per record; released sets are bounded by the pending limit.
  assert.ok(r.flows.length <= datagram.length + (LIMITS.maxPendingBytes ?? 0));
  assert.ok(r.missingTemplates.length <= datagram.length / 4);
}

function checkBounds(decoder: ReturnType<typeof createFlowDecoder>): void {
  const s = decoder.stats();
  assert.equal(s.drops.internal_error, 0, 'internal error path reached');
  assert.ok(s.scopes <= LIMITS.maxScopes!);
  assert.ok(s.domains <= LIMITS.maxScopes! * LIMITS.maxDomainsPerScope!);
  assert.ok(s.templates.active <= LIMITS.maxScopes! * LIMITS.maxTemplatesPerScope!);
  assert.ok(s.pending.bytes <= LIMITS.maxPendingBytes!);
  assert.ok(s.pending.bytes >= 0 && s.pending.sets >= 0);
}

describe('hostile input', () => {
  it('decodes every seed cleanly to begin with', () => {
    const d = createFlowDecoder();
    for (const s of seeds) assert.equal(d.decode(s, 'seed', 1_709_294_500_000).rejected, null);
    assert.equal(d.stats().drops.internal_error, 0);
  });

  for (const codegen of [true, false]) {
    it(`mutated datagrams never throw, hang or escape the bounds (${codegen ? 'generated code' : 'interpreter'})`, () => {
      const decoder = createFlowDecoder({ ...LIMITS, codegen });
      let now = 1_709_294_500_000;
      let slowest = 0;
      fc.assert(
        fc.property(mutated, fc.nat({ max: 11 }), fc.boolean(), (datagram, scope, reportMissing) => {
          now += 250;
          const started = performance.now();
          const r = decoder.decode(datagram, `exporter-${scope}`, now, reportMissing ? 'report-missing' : 'buffer');
          slowest = Math.max(slowest, performance.now() - started);
          checkResult(r, datagram);
          if (now % 20_000 === 0) decoder.expire(now);
          checkBounds(decoder);
        }),
        { numRuns: 7000 },
      );
      // A 64 KiB datagram decodes in well under a millisecond; a hang would show here.
      assert.ok(slowest < 2000, `slowest decode ${slowest} ms`);
    });
  }

  it('datagrams built to maximise work per byte stay cheap', () => {
    const emptySets = Buffer.concat(Array.from({ length: 16_000 }, (_, i) => ipfix.dataSet(256 + i, [])));
    const withdrawAll = Buffer.concat(Array.from({ length: 8_000 }, () => ipfix.withdrawalSet(2, [2])));
    const layouts = ipfix.templateSet(Array.from({ length: 3000 }, (_, i) => ({ id: 256 + (i % 1000), fields: [f(8, 4), f(12, 4), f(i % 300, 1 + (i % 8))] })));
    const manyTemplates = ipfix.templateSet(Array.from({ length: 900 }, (_, i) => ({ id: 256 + i, fields: [f(8, 4), f(12, 4)] })));
    const cases: [string, Buffer, 'buffer' | 'report-missing'][] = [
      ['16,000 empty data sets for unknown templates (buffer)', ipfix.message({}, [emptySets]), 'buffer'],
      ['16,000 empty data sets for unknown templates (report)', ipfix.message({}, [emptySets]), 'report-missing'],
      ['8,000 withdraw-all records over 900 templates', ipfix.message({}, [withdrawAll]), 'buffer'],
      ['3,000 distinct template layouts', ipfix.message({}, [layouts]), 'buffer'],
    ];
    const decoder = createFlowDecoder({ maxTemplatesPerScope: 2000 });
    for (const [name, datagram, mode] of cases) {
      assert.ok(datagram.length <= 0xffff, name);
      decoder.decode(ipfix.message({}, [manyTemplates]), 'worst', 1_709_294_500_000);
      const started = performance.now();
      const r = decoder.decode(datagram, 'worst', 1_709_294_500_000, mode);
      const ms = performance.now() - started;
      assert.equal(r.rejected, null, name);
      assert.ok(ms < 2000, `${name}: ${ms.toFixed(1)} ms`);
    }
    const s = decoder.stats();
    assert.equal(s.drops.internal_error, 0);
    assert.ok(s.pending.bytes <= 256 * 1024);
    assert.equal(s.templates.compiled, 1);
  });

  it('random bytes with valid version numbers never throw', () => {
    const decoder = createFlowDecoder(LIMITS);
    fc.assert(
      fc.property(fc.constantFrom(5, 9, 10), fc.uint8Array({ minLength: 0, maxLength: 400 }), (version, body) => {
        const datagram = Buffer.concat([Buffer.from([0, version]), body]);
        if (version === 10 && datagram.length >= 4) datagram.writeUInt16BE(datagram.length, 2);
        checkResult(decoder.decode(datagram, 'random', 1_709_294_500_000), datagram);
        checkBounds(decoder);
      }),
      { numRuns: 3000 },
    );
  });

  it('the stream framer and body parser survive arbitrary input', () => {
    const stream = Buffer.concat(seeds.filter((s) => s.readUInt16BE(0) === 10));
    fc.assert(
      fc.property(fc.array(mutation, { maxLength: 8 }), fc.integer({ min: 1, max: 2000 }), fc.boolean(), (ms, chunk, reject) => {
        const bytes = mutate(stream, ms);
        const framer = createIpfixStreamFramer({ onGarbage: reject ? 'reject' : 'resync' });
        let total = 0;
        for (let i = 0; i < bytes.length; i += chunk) {
          const out = framer.push(bytes.subarray(i, i + chunk));
          for (const m of out.messages) {
            assert.ok(m.length >= 16 && m.length <= 0xffff);
            total += m.length;
          }
          total += out.skippedBytes;
          assert.ok(framer.buffered <= 0xffff + chunk);
        }
        total += framer.end().truncatedBytes;
        if (!reject) assert.equal(total, bytes.length);
        const body = parseNetflowBody(bytes);
        assert.ok(body.offset <= bytes.length);
      }),
      { numRuns: 2000 },
    );
  });
});
