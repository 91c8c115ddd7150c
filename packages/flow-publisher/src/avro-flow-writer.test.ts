/**
 * The flow writer against the registry's own codec: for arbitrary flow records (every field at its
 * extremes, IPv6, nulls), the bytes are identical to what @kafkajs/confluent-schema-registry encodes
 * under the registered schema, and decode back to the same record.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { FlowRecord } from '@vigil/contracts';
import type { DecodedFlow } from '@vigil/flow-decoder';
import { createCodecs, createSchemaRegistry, type Codecs } from '@vigil/kafka';
import { testEnv, uniquePrefix } from '@vigil/testkit';
import { AvroFlowWriter, compileFlowFields } from './avro-flow-writer';

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const long = fc.oneof(
  fc.integer({ min: -(2 ** 52), max: Number.MAX_SAFE_INTEGER - 1 }),
  fc.constantFrom(0, 1, -1, 63, 64, -64, -65, 2 ** 30, -(2 ** 30), 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER - 1, -(2 ** 52)),
);
const addr = fc.oneof(fc.ipV4(), fc.ipV6());
const text = fc.oneof(addr, fc.string(), fc.string({ unit: 'grapheme' }));

const record: fc.Arbitrary<FlowRecord> = fc.record({
  project_id: long,
  exporter: text,
  version: fc.constantFrom(5 as const, 9 as const, 10 as const),
  observation_domain: long,
  sequence: long,
  flow_start_ms: long,
  flow_end_ms: long,
  ip_version: fc.constantFrom(4 as const, 6 as const),
  src_addr: addr,
  dst_addr: addr,
  src_port: int32,
  dst_port: int32,
  protocol: int32,
  bytes: long,
  packets: long,
  sampling_rate: long,
  tcp_flags: int32,
  tos: int32,
  input_if: long,
  output_if: long,
  src_as: long,
  dst_as: long,
  src_mask: int32,
  dst_mask: int32,
  next_hop: fc.option(text, { nil: null }),
  flow_direction: fc.option(int32, { nil: null }),
  biflow_direction: fc.option(int32, { nil: null }),
  reverse_bytes: long,
  reverse_packets: long,
  received_at_ms: long,
});

describe('Avro flow writer', () => {
  let codecs: Codecs;
  before(async () => {
    codecs = await createCodecs(createSchemaRegistry(testEnv().schemaRegistryUrl), uniquePrefix('avro'));
  });

  for (const codegen of [true, false]) {
    it(`writes exactly the bytes the registry codec writes, for any record (${codegen ? 'generated code' : 'field walk'})`, async () => {
      const writer = new AvroFlowWriter(codecs.flows.schemaId, { codegen });
      assert.equal(writer.codegen, codegen);
      await fc.assert(
        fc.asyncProperty(record, async (r) => {
          const ours = Buffer.from(writer.encodeRecord(r));
          const theirs = await codecs.flows.encode(r);
          assert.deepEqual(ours, theirs);
          assert.deepEqual({ ...(await codecs.flows.decode(ours)) }, { ...r });
        }),
        { numRuns: 1500 },
      );
    });
  }

  it('encodes a decoded flow with its attribution as the full record', async () => {
    const writer = new AvroFlowWriter(codecs.flows.schemaId);
    await fc.assert(
      fc.asyncProperty(record, async (r) => {
        const { project_id, exporter, received_at_ms, ...flow } = r;
        const value = writer.encodeFlow(flow as DecodedFlow, { projectId: project_id, exporter, receivedAtMs: received_at_ms });
        assert.deepEqual({ ...(await codecs.flows.decode(value)) }, { ...r });
      }),
      { numRuns: 300 },
    );
  });

  it('refuses values the schema cannot carry instead of writing them wrongly', () => {
    for (const codegen of [true, false]) refusals(new AvroFlowWriter(7, { codegen }));
    assert.throws(() => compileFlowFields({ type: 'record', fields: [{ name: 'x', type: 'double' }] }), /does not encode/);
    assert.throws(() => new AvroFlowWriter(1, { schema: { type: 'record', fields: [{ name: 'project_id', type: 'long' }] } }), /no exporter field/);
  });

  function refusals(writer: AvroFlowWriter): void {
    const base = fc.sample(record, 1)[0]!;
    assert.throws(() => writer.encodeRecord({ ...base, bytes: 2 ** 60 }), /bytes/);
    assert.throws(() => writer.encodeRecord({ ...base, packets: Number.MAX_SAFE_INTEGER }), /packets/);
    assert.throws(() => writer.encodeRecord({ ...base, src_port: 2 ** 31 }), /src_port/);
    assert.throws(() => writer.encodeRecord({ ...base, sampling_rate: 1.5 }), /sampling_rate/);
    assert.throws(() => writer.encodeRecord({ ...base, src_addr: null as unknown as string }), /src_addr/);
  }
});
