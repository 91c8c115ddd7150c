import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f, ipfix, rec, v9 } from '../scripts/datagram-builder';
import { createFlowDecoder, DROP_REASONS } from './index';

const NOW = 1_709_294_401_000;
const A = [f(8, 4), f(12, 4), f(1, 4)];
const B = [f(12, 4), f(8, 4), f(2, 4)]; // same id, other layout: addresses swapped, packets instead of bytes
const row = (src: string, dst: string, n: number) => rec().ipv4(src).ipv4(dst).u32(n).build();
const tmpl = (id: number, fields = A) => ipfix.templateSet([{ id, fields }]);
const data = (id: number, n = 1) => ipfix.dataSet(id, [row('10.0.0.1', '10.0.0.2', n)]);
const msg = (sets: Buffer[], domain = 0, sequence = 0) => ipfix.message({ domain, sequence }, sets);

describe('template scope', () => {
  it('keeps templates apart per scope key: two exporters using the same template id', () => {
    const d = createFlowDecoder();
    d.decode(msg([tmpl(256, A)]), '192.0.2.1:4739', NOW);
    d.decode(msg([tmpl(256, B)]), '192.0.2.2:4739', NOW);
    const a = d.decode(msg([data(256, 5)]), '192.0.2.1:4739', NOW).flows[0]!;
    const b = d.decode(msg([data(256, 5)]), '192.0.2.2:4739', NOW).flows[0]!;
    assert.deepEqual([a.src_addr, a.bytes, a.packets], ['10.0.0.1', 5, 0]);
    assert.deepEqual([b.src_addr, b.bytes, b.packets], ['10.0.0.2', 0, 5]);
  });

  it('keeps templates apart per observation domain and per version', () => {
    const d = createFlowDecoder();
    d.decode(msg([tmpl(256, A)], 1), 'e', NOW);
    d.decode(msg([tmpl(256, B)], 2), 'e', NOW);
    assert.equal(d.decode(msg([data(256)], 1), 'e', NOW).flows[0]!.src_addr, '10.0.0.1');
    assert.equal(d.decode(msg([data(256)], 2), 'e', NOW).flows[0]!.src_addr, '10.0.0.2');
    // NetFlow v9 source id 1 is a different scope from IPFIX domain 1.
    const r = d.decode(v9.packet({ sourceId: 1 }, [v9.dataFlowset(256, [row('1.1.1.1', '2.2.2.2', 1)])]), 'e', NOW);
    assert.deepEqual(r.missingTemplates, [256]);
  });

  it('replaces a template when an exporter reboots and reuses its id with a new layout', () => {
    const d = createFlowDecoder();
    d.decode(msg([tmpl(300, A), data(300, 9)]), 'e', NOW);
    // Unchanged refresh: not a replacement, not recompiled.
    d.decode(msg([tmpl(300, A)]), 'e', NOW + 1000);
    let s = d.stats().templates;
    assert.deepEqual([s.received, s.added, s.replaced, s.active], [2, 1, 0, 1]);
    const r = d.decode(msg([tmpl(300, B), data(300, 9)], 0, 0), 'e', NOW + 2000);
    assert.deepEqual([r.flows[0]!.src_addr, r.flows[0]!.packets, r.flows[0]!.bytes], ['10.0.0.2', 9, 0]);
    s = d.stats().templates;
    assert.deepEqual([s.received, s.added, s.replaced, s.active], [3, 1, 1, 1]);
  });

  it('compiles a layout once it has decoded enough records, once across exporters', () => {
    const d = createFlowDecoder({ compileAfterRecords: 2 });
    for (let i = 0; i < 20; i++) d.decode(msg([tmpl(256, A), tmpl(257, B)]), `10.0.0.${i}:2055`, NOW);
    // Only the built-in NetFlow v5 layout so far: announced templates run on the interpreter.
    assert.equal(d.stats().templates.compiled, 1);
    for (let i = 0; i < 20; i++) {
      const r = d.decode(msg([data(256, 1), data(256, 2), data(256, 3)]), `10.0.0.${i}:2055`, NOW);
      assert.deepEqual(r.flows.map((x) => x.bytes), [1, 2, 3]);
    }
    assert.deepEqual([d.stats().templates.compiled, d.stats().templates.active], [2, 40]);
  });

  it('does not generate code for layouts that are announced but never used', () => {
    const d = createFlowDecoder({ maxTemplatesPerScope: 5000 });
    const many = Array.from({ length: 2000 }, (_, i) => ({ id: 256 + i, fields: [f(8, 4), f(12, 4), f(1, 1 + (i % 8)), f(i % 400, 2)] }));
    const r = d.decode(msg([ipfix.templateSet(many)]), 'e', NOW);
    assert.deepEqual(r.drops, {});
    assert.deepEqual([d.stats().templates.active, d.stats().templates.compiled], [2000, 1]);
  });
});

describe('template TTL', () => {
  it('forgets templates not refreshed within the TTL; refreshing keeps them', () => {
    const d = createFlowDecoder({ templateTtlMs: 10_000 });
    d.decode(msg([tmpl(256), tmpl(257, B)]), 'e', NOW);
    d.decode(msg([tmpl(257, B)]), 'e', NOW + 8000);
    const r = d.decode(msg([data(256), data(257)]), 'e', NOW + 12_000);
    assert.equal(r.flows.length, 1);
    assert.deepEqual(r.missingTemplates, [256]);
    assert.equal(d.stats().templates.expired, 1);
    assert.deepEqual(d.expire(NOW + 80_000), { templates: 1, pendingSets: 1, scopes: 0 });
    assert.equal(d.stats().templates.active, 0);
  });

  it('never expires templates with an infinite TTL (IPFIX over TCP)', () => {
    const d = createFlowDecoder({ templateTtlMs: Infinity });
    d.decode(msg([tmpl(256)]), 'tcp:1', NOW);
    assert.equal(d.decode(msg([data(256)]), 'tcp:1', NOW + 365 * 86_400_000).flows.length, 1);
    assert.equal(d.dropScope('tcp:1'), true);
    assert.deepEqual(d.decode(msg([data(256)]), 'tcp:1', NOW).missingTemplates, [256]);
  });
});

describe('data before its template', () => {
  it('buffers the data and decodes it when the template arrives, with its own header fields', () => {
    const d = createFlowDecoder();
    const early = d.decode(ipfix.message({ sequence: 40, exportSecs: 1_709_294_300 }, [data(256, 3), data(256, 4)]), 'e', NOW);
    assert.deepEqual([early.flows.length, early.bufferedSets, early.missingTemplates], [0, 2, [256]]);
    assert.deepEqual(d.stats().pending.sets, 2);
    const later = d.decode(ipfix.message({ sequence: 42 }, [tmpl(256), data(256, 5)]), 'e', NOW + 1000);
    assert.deepEqual(
      later.flows.map((x) => [x.bytes, x.sequence, x.flow_start_ms]),
      [
        [5, 42, 1_709_294_401_000],
        [3, 40, 1_709_294_300_000],
        [4, 40, 1_709_294_300_000],
      ],
    );
    assert.equal(later.releasedFlows, 2);
    const s = d.stats().pending;
    assert.deepEqual([s.bufferedSets, s.releasedSets, s.releasedFlows, s.sets, s.bytes], [2, 2, 2, 0, 0]);
  });

  it('releases NetFlow v9 data held for an options template too', () => {
    const d = createFlowDecoder();
    const optData = v9.dataFlowset(300, [rec().u32(0).u32(50).build()]);
    d.decode(v9.packet({}, [optData]), 'r', NOW);
    const opt = v9.optionsTemplateFlowset({ id: 300, scope: [f(1, 4)], fields: [f(34, 4)] });
    const tpl = v9.templateFlowset([{ id: 256, fields: A }]);
    const r = d.decode(v9.packet({}, [opt, tpl, v9.dataFlowset(256, [row('1.1.1.1', '2.2.2.2', 10)])]), 'r', NOW);
    // The released options data arrives after this datagram's flows were decoded: they are unsampled.
    assert.equal(r.flows[0]!.sampling_rate, 1);
    const r2 = d.decode(v9.packet({}, [v9.dataFlowset(256, [row('1.1.1.1', '2.2.2.2', 10)])]), 'r', NOW);
    assert.equal(r2.flows[0]!.sampling_rate, 50);
  });

  it('bounds buffered bytes per scope and in total, counting each refusal', () => {
    const d = createFlowDecoder({ maxPendingBytesPerScope: 200, maxPendingBytes: 350 });
    const big = ipfix.dataSet(256, Array.from({ length: 8 }, () => row('1.1.1.1', '2.2.2.2', 1))); // 96 bytes of records
    assert.equal(d.decode(msg([big]), 'a', NOW).bufferedSets, 1);
    assert.deepEqual(d.decode(msg([big]), 'a', NOW).drops, { pending_scope_full: 1 });
    assert.equal(d.decode(msg([big]), 'b', NOW).bufferedSets, 1);
    assert.deepEqual(d.decode(msg([big]), 'c', NOW).drops, { pending_global_full: 1 });
    assert.deepEqual([d.stats().pending.sets, d.stats().pending.bytes], [2, 320]);
  });

  it('counts buffered data that expires before its template arrives', () => {
    const d = createFlowDecoder({ pendingTtlMs: 5000 });
    d.decode(msg([data(256)]), 'e', NOW);
    d.decode(msg([data(257)]), 'e', NOW);
    assert.equal(d.expire(NOW + 1000).pendingSets, 0);
    // Arrival after the TTL: nothing decoded, the set counted as expired.
    const r = d.decode(msg([tmpl(256)]), 'e', NOW + 6000);
    assert.deepEqual([r.flows.length, r.drops.pending_expired], [0, 1]);
    assert.equal(d.expire(NOW + 6000).pendingSets, 1);
    const s = d.stats();
    assert.deepEqual([s.pending.expiredSets, s.drops.pending_expired, s.pending.sets], [2, 2, 0]);
  });

  it('reports missing templates instead of buffering in report-missing mode', () => {
    const d = createFlowDecoder();
    const r = d.decode(msg([data(256), data(257), data(256)]), 'key-1', NOW, 'report-missing');
    assert.deepEqual(r.missingTemplates, [256, 257]);
    assert.deepEqual([r.bufferedSets, r.drops.missing_template], [0, 3]);
    assert.equal(d.decode(msg([tmpl(256)]), 'key-1', NOW, 'report-missing').flows.length, 0);
    assert.equal(d.decode(msg([data(256)]), 'key-1', NOW, 'report-missing').flows.length, 1);
  });
});

describe('bounds', () => {
  it('limits templates per scope', () => {
    const d = createFlowDecoder({ maxTemplatesPerScope: 2 });
    const r = d.decode(msg([tmpl(256), tmpl(257), tmpl(258)]), 'e', NOW);
    assert.deepEqual(r.drops, { template_limit: 1 });
    // Replacing an existing id is still allowed.
    assert.deepEqual(d.decode(msg([tmpl(257, B)]), 'e', NOW).drops, {});
    assert.deepEqual(d.decode(msg([tmpl(258)]), 'e2', NOW).drops, {});
  });

  it('limits fields per template', () => {
    const d = createFlowDecoder({ maxFieldsPerTemplate: 3 });
    const r = d.decode(msg([tmpl(256, [...A, f(2, 4)]), tmpl(257, A)]), 'e', NOW);
    assert.deepEqual(r.drops, { template_too_many_fields: 1 });
    assert.equal(d.stats().templates.active, 1);
  });

  it('refuses templates whose records would be empty', () => {
    const d = createFlowDecoder();
    assert.deepEqual(d.decode(msg([tmpl(256, [f(1, 0), f(2, 0)])]), 'e', NOW).drops, { template_unusable: 1 });
  });

  it('limits observation domains per scope', () => {
    const d = createFlowDecoder({ maxDomainsPerScope: 2 });
    d.decode(msg([], 1), 'e', NOW);
    d.decode(msg([], 2), 'e', NOW);
    assert.equal(d.decode(msg([], 3), 'e', NOW).rejected, 'domain_limit');
    assert.equal(d.decode(msg([], 3), 'other', NOW).rejected, null);
  });

  it('evicts the least recently seen scope beyond the scope limit', () => {
    const d = createFlowDecoder({ maxScopes: 2 });
    d.decode(msg([tmpl(256)]), 'a', NOW);
    d.decode(msg([tmpl(256)]), 'b', NOW + 1000);
    d.decode(msg([]), 'a', NOW + 2000);
    d.decode(msg([tmpl(256)]), 'c', NOW + 3000);
    assert.deepEqual(d.scopeSummaries().map((s) => s.scopeKey).sort(), ['a', 'c']);
    assert.deepEqual([d.stats().scopesEvicted, d.stats().templates.active], [1, 2]);
  });

  it('drops idle scopes without templates on expire', () => {
    const d = createFlowDecoder({ scopeIdleMs: 1000 });
    d.decode(v9.packet({}, []), 'r', NOW);
    assert.equal(d.stats().scopes, 1);
    assert.equal(d.expire(NOW + 5000).scopes, 1);
    assert.deepEqual([d.stats().scopes, d.stats().domains], [0, 0]);
  });
});

describe('datagram-level refusals', () => {
  it('rejects empty, unknown-version and short datagrams with a reason', () => {
    const d = createFlowDecoder();
    assert.equal(d.decode(new Uint8Array(0), 'e', NOW).rejected, 'too_short');
    assert.equal(d.decode(Buffer.from([0, 7, 0, 0]), 'e', NOW).rejected, 'unknown_version');
    assert.equal(d.decode(Buffer.from([0, 10, 0]), 'e', NOW).rejected, 'too_short');
    const s = d.stats();
    assert.deepEqual([s.datagrams.rejected, s.drops.too_short, s.drops.unknown_version], [3, 2, 1]);
  });

  it('documents every drop reason', () => {
    const d = createFlowDecoder();
    assert.deepEqual(Object.keys(d.stats().drops).sort(), Object.keys(DROP_REASONS).sort());
    for (const v of Object.values(DROP_REASONS)) assert.ok(v.text.length > 10);
  });

  it('decodes from a Uint8Array view at a non-zero offset', () => {
    const d = createFlowDecoder();
    const m = msg([tmpl(256), data(256, 77)]);
    const backing = new Uint8Array(m.length + 13);
    backing.set(m, 13);
    assert.equal(d.decode(backing.subarray(13), 'e', NOW).flows[0]!.bytes, 77);
  });

  it('runs the same with generated code disabled', () => {
    const d = createFlowDecoder({ codegen: false });
    assert.equal(d.codegen, false);
    assert.equal(d.decode(msg([tmpl(256), data(256, 77)]), 'e', NOW).flows[0]!.bytes, 77);
    assert.equal(createFlowDecoder().codegen, true);
  });
});
