import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { COMPATIBILITY, SchemaType } from '@kafkajs/confluent-schema-registry';
import { AVRO_SCHEMAS, WIRE, eventRecord, flowRecord, type EventRecord, type FlowRecord } from '@vigil/contracts';
import { silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import type { Kafka } from 'kafkajs';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics, registerSchema, runConsumer, type Codecs } from './index';

const env = testEnv();
const prefix = uniquePrefix('codec');
const registry = createSchemaRegistry(env.schemaRegistryUrl);
let kafka: Kafka;
let codecs: Codecs;

const event: EventRecord = {
  event_id: 'a'.repeat(32),
  project_id: 7,
  timestamp_ms: 1_732_320_000_123,
  received_at_ms: 1_732_320_000_456,
  source: 'native',
  class: 'security',
  severity: 'high',
  type: 'auth.login_failed',
  message: 'bad password for alice',
  exception_type: null,
  exception_value: null,
  platform: null,
  release: '1.2.3',
  environment: 'production',
  tags: { host: 'web-1' },
  user: { id: '42', email: null, username: 'alice', ip_address: '203.0.113.9' },
  fingerprint: ['{{ default }}'],
  client_ip: '203.0.113.9',
  sdk_name: null,
  sdk_version: null,
  attributes: { user: { name: 'alice' }, attempts: 3 },
  raw: Buffer.from('{"type":"auth.login_failed"}'),
};

const flow: FlowRecord = {
  project_id: 7, exporter: '192.0.2.1', version: 10, observation_domain: 1, sequence: 99,
  flow_start_ms: 1_732_320_000_000, flow_end_ms: 1_732_320_001_000, ip_version: 6,
  src_addr: '2001:db8::1', dst_addr: '2001:db8::2', src_port: 443, dst_port: 51000, protocol: 6,
  bytes: 12_000_000_000, packets: 9_000_000, sampling_rate: 1000, tcp_flags: 0x1b, tos: 0,
  input_if: 1, output_if: 2, src_as: 64500, dst_as: 64501, src_mask: 64, dst_mask: 64,
  next_hop: null, flow_direction: 0, biflow_direction: null, reverse_bytes: 0, reverse_packets: 0,
  received_at_ms: 1_732_320_002_000,
};

before(async () => {
  kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'codec-test', logger: silentLogger() });
  await ensureTopics(kafka, prefix);
  codecs = await createCodecs(registry, prefix);
});

test('values are framed in the Confluent wire format with the registered schema id', async () => {
  const buf = await codecs.events.encode(event);
  assert.equal(buf[0], 0, 'magic byte');
  assert.equal(buf.readUInt32BE(1), codecs.events.schemaId);
  const back = await codecs.events.decode(buf);
  assert.deepEqual(eventRecord.parse(back), event);
  // The same bytes as the registry's own encoder, also for values larger than the first scratch buffer.
  assert.deepEqual(buf, await registry.encode(codecs.events.schemaId, WIRE.events.toAvro(event)));
  const large = { ...event, raw: Buffer.alloc(200_000, 'x') };
  assert.deepEqual(await codecs.events.encode(large), await registry.encode(codecs.events.schemaId, WIRE.events.toAvro(large)));
  // A value the schema refuses fails as the registry fails it, naming the field.
  await assert.rejects(
    codecs.events.encode({ ...event, project_id: 'seven' } as unknown as EventRecord),
    (e: Error & { paths?: string[][] }) => e.name === 'ConfluentSchemaRegistryValidationError' && JSON.stringify(e.paths).includes('project_id'),
  );
});

test('registering the same schema again returns the same id', async () => {
  const again = await createCodecs(registry, prefix);
  assert.equal(again.events.schemaId, codecs.events.schemaId);
  assert.equal(again.flows.schemaId, codecs.flows.schemaId);
});

test('events and flows round-trip through the real broker', async () => {
  const producer = new BatchingProducer(kafka);
  await producer.connect();
  await Promise.all([
    producer.send(codecs.events.topic, [{ key: event.event_id, value: await codecs.events.encode(event) }]),
    producer.send(codecs.flows.topic, [{ key: flow.src_addr, value: await codecs.flows.encode(flow) }]),
  ]);
  await producer.disconnect();

  const seen: Array<EventRecord | FlowRecord> = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const runner = await runConsumer({
    kafka,
    groupId: `${prefix}roundtrip`,
    topics: [codecs.events.topic, codecs.flows.topic],
    logger: silentLogger(),
    async handleBatch(batch) {
      for (const m of batch.messages) {
        seen.push(batch.topic === codecs.events.topic ? await codecs.events.decode(m.value!) : await codecs.flows.decode(m.value!));
      }
      if (seen.length >= 2) done();
    },
  });
  await finished;
  await runner.stop();
  // avsc decodes records into instances of generated classes; compare their plain content.
  assert.deepEqual(eventRecord.parse(seen.find((r) => 'event_id' in r)), event);
  assert.deepEqual(flowRecord.parse(seen.find((r) => 'src_addr' in r)), flow);
});

test('schema evolution: BACKWARD allows an added field with a default and refuses one without', async () => {
  const subject = `${prefix}evolution-value`;
  const base = AVRO_SCHEMAS.flows as { fields: object[] };
  const v1 = await registerSchema(registry, subject, base);
  const withDefault = { ...base, fields: [...base.fields, { name: 'vlan', type: 'int', default: 0 }] };
  const v2 = await registerSchema(registry, subject, withDefault);
  assert.notEqual(v2, v1);

  const withoutDefault = { ...base, fields: [...base.fields, { name: 'vlan', type: 'int', default: 0 }, { name: 'site', type: 'string' }] };
  await assert.rejects(
    registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(withoutDefault) }, { subject, compatibility: COMPATIBILITY.BACKWARD }),
    (err: Error) => /incompatib|409|compatib/i.test(`${err.message} ${(err as { status?: number }).status}`),
  );

  // Data written with v1 is read by a v2 reader, the new field taking its default.
  const old = await registry.encode(v1, { ...flow });
  const decoded = (await registry.decode(old, { [SchemaType.AVRO]: { readerSchema: withDefault } } as never)) as Record<string, unknown>;
  assert.equal(decoded.vlan, 0);
  assert.equal(decoded.src_addr, flow.src_addr);
});

after(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: Object.values(codecs).map((c) => c.topic) }).catch(() => undefined);
  await admin.disconnect();
});
