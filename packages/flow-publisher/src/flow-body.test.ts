/**
 * FlowBodyDecoder's template TTL: templates sent on a key are used until they are older than the TTL
 * (measured on each request's receivedAtMs); past it, data needing them is answered as a missing
 * template, naming it, until the template is sent again.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { f, ipfix, rec } from '@vigil/flow-decoder/testing';
import { AvroFlowWriter } from './avro-flow-writer';
import { FlowBodyDecoder, type FlowBodyContext } from './flow-body';
import { FlowMessageBuilder } from './flow-messages';

const T0_MS = Date.UTC(2026, 0, 1);
const LAYOUT = [f(8, 4), f(12, 4), f(7, 2), f(11, 2), f(4, 1), f(1, 8), f(2, 8), f(152, 8), f(153, 8)];
const record = (n: number) => rec().ipv4('10.0.0.1').ipv4('10.0.0.2').u16(1000 + n).u16(443).u8(6).u64(1500).u64(3).u64(T0_MS).u64(T0_MS + 500).build();
const templates = (sequence: number) => ipfix.message({ exportSecs: T0_MS / 1000, sequence, domain: 9 }, [ipfix.templateSet([{ id: 256, fields: LAYOUT }])]);
const data = (sequence: number) => ipfix.message({ exportSecs: T0_MS / 1000, sequence, domain: 9 }, [ipfix.dataSet(256, [record(sequence)])]);

describe('flow body template TTL', () => {
  const decoders: FlowBodyDecoder[] = [];
  const create = (options?: { templateTtlMs?: number }) => {
    const d = new FlowBodyDecoder(new FlowMessageBuilder(new AvroFlowWriter(1)), options);
    decoders.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of decoders.splice(0)) d.close();
  });
  const at = (receivedAtMs: number): FlowBodyContext => ({ projectId: 1, publicKey: 'a'.repeat(32), exporter: '192.0.2.1', receivedAtMs });

  it('no longer uses a template older than the TTL: its data is answered as a missing template', () => {
    const bodies = create({ templateTtlMs: 30_000 });
    assert.equal(bodies.templateTtlMs, 30_000);
    const learnt = bodies.decode([templates(0)], at(T0_MS));
    assert.ok(learnt.ok);

    // Within the TTL the template is used.
    const fresh = bodies.decode([data(0)], at(T0_MS + 29_000));
    assert.ok(fresh.ok, JSON.stringify(fresh));
    assert.equal(fresh.messages.length, 1);

    // Past it, the same data names the template as missing and yields nothing.
    const stale = bodies.decode([data(1)], at(T0_MS + 31_000));
    assert.equal(stale.ok, false);
    assert.ok(!stale.ok && stale.code === 'missing_template');
    assert.deepEqual(stale.missing, [{ observation_domain: 9, template_id: 256 }]);
    assert.match(stale.detail, /remembered for 30 seconds per key/);

    // Sent again, it is used again.
    assert.ok(bodies.decode([templates(1)], at(T0_MS + 32_000)).ok);
    const again = bodies.decode([data(1)], at(T0_MS + 33_000));
    assert.ok(again.ok && again.messages.length === 1, JSON.stringify(again));
  });

  it('remembers templates for 90 minutes by default', () => {
    const bodies = create();
    assert.equal(bodies.templateTtlMs, 90 * 60_000);
    assert.ok(bodies.decode([templates(0)], at(T0_MS)).ok);
    assert.ok(bodies.decode([data(0)], at(T0_MS + 89 * 60_000)).ok);
    const stale = bodies.decode([data(1)], at(T0_MS + 91 * 60_000));
    assert.ok(!stale.ok && stale.code === 'missing_template', JSON.stringify(stale));
    assert.match(stale.detail, /remembered for 90 minutes per key/);
  });
});
