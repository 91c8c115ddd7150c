/**
 * Projected decoding against the real schema registry: a record decoded with only some fields holds
 * exactly those fields, with the values full decoding gives; a record written under an older schema
 * still decodes; anything that is not a valid value under its schema is refused, not misread.
 */
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import avsc from 'avsc';
import fc from 'fast-check';
import { AVRO_SCHEMAS, WIRE, type EventRecord } from '@vigil/contracts';
import { createSchemaRegistry, registerSchema } from '@vigil/kafka';
import { testEnv, uniquePrefix } from '@vigil/testkit';
import { ProjectedAvro, fieldSet, schemaIdOf } from './avro-projection';
import { RecordDecoder, withContractFields } from './record-decoding';

const registry = createSchemaRegistry(testEnv().schemaRegistryUrl);
const eventType = avsc.Type.forSchema(AVRO_SCHEMAS.events as avsc.Schema);
const EVENT_FIELDS = (AVRO_SCHEMAS.events as { fields: Array<{ name: string }> }).fields.map((f) => f.name);
let eventsId: number;
let olderId: number;
const olderSchema = { ...(AVRO_SCHEMAS.events as { fields: Array<{ name: string }> }), fields: (AVRO_SCHEMAS.events as { fields: Array<{ name: string }> }).fields.filter((f) => !['sdk_name', 'sdk_version'].includes(f.name)) };
const olderType = avsc.Type.forSchema(olderSchema as avsc.Schema);

before(async () => {
  const subject = `${uniquePrefix('rproj')}events-value`;
  olderId = await registerSchema(registry, subject, olderSchema);
  eventsId = await registerSchema(registry, subject, AVRO_SCHEMAS.events);
});

/** Confluent framing: magic byte 0, schema id, body. */
function frame(id: number, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(id, 1);
  body.copy(out, 5);
  return out;
}

const text = fc.string({ maxLength: 12 });
const nullableText = fc.option(text, { nil: null });
const eventArb: fc.Arbitrary<EventRecord> = fc.record({
  event_id: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 32 }),
  project_id: fc.integer({ min: 1, max: 1e9 }),
  timestamp_ms: fc.integer({ min: 0, max: 2 ** 45 }),
  received_at_ms: fc.integer({ min: 0, max: 2 ** 45 }),
  source: fc.constantFrom('sentry' as const, 'native' as const),
  class: fc.constantFrom('security' as const, 'network' as const, 'audit' as const, 'error' as const),
  severity: fc.constantFrom('critical' as const, 'high' as const, 'medium' as const, 'low' as const, 'info' as const),
  type: text,
  message: nullableText,
  exception_type: nullableText,
  exception_value: nullableText,
  platform: nullableText,
  release: nullableText,
  environment: nullableText,
  tags: fc.dictionary(text, text, { maxKeys: 4 }),
  user: fc.option(fc.record({ id: nullableText, email: nullableText, username: nullableText, ip_address: nullableText }), { nil: null }),
  fingerprint: fc.array(text, { maxLength: 3 }),
  client_ip: nullableText,
  sdk_name: nullableText,
  sdk_version: nullableText,
  attributes: fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean()), { maxKeys: 3 }),
  raw: fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
});

test('a projected record holds exactly the fields asked for, with the values full decoding gives', async () => {
  const avro = new ProjectedAvro(registry);
  const decoder = new RecordDecoder(avro);
  await avro.learn([eventsId]);
  fc.assert(
    fc.property(eventArb, fc.subarray(EVENT_FIELDS), (event, asked) => {
      const value = frame(eventsId, eventType.toBuffer(WIRE.events.toAvro(event)));
      assert.equal(schemaIdOf(value), eventsId);
      const fields = withContractFields('events', asked);
      const wanted = [...fields.fields];
      const full = WIRE.events.fromAvro(eventType.fromBuffer(value.subarray(5)) as Record<string, unknown>) as unknown as Record<string, unknown>;
      const got = decoder.decode('events', value, fields);
      assert.ok(got.ok);
      const record = got.record as unknown as Record<string, unknown>;
      assert.deepEqual(Object.keys(record).sort(), wanted.sort());
      for (const f of wanted) assert.deepEqual(JSON.parse(JSON.stringify(record[f])), JSON.parse(JSON.stringify(full[f])), f);
    }),
    { numRuns: 300 },
  );
});

test('a record written under an older schema decodes; fields that schema lacks are missing', async () => {
  const avro = new ProjectedAvro(registry);
  await avro.learn([olderId]);
  const [event] = fc.sample(eventArb, { numRuns: 1, seed: 7 });
  const { sdk_name: _a, sdk_version: _b, ...older } = WIRE.events.toAvro(event!) as Record<string, unknown>;
  const value = frame(olderId, olderType.toBuffer(older));
  const got = new RecordDecoder(avro).decode('events', value, fieldSet(['project_id', 'timestamp_ms', 'received_at_ms', 'attributes', 'type', 'sdk_name']));
  assert.ok(got.ok);
  assert.equal((got.record as EventRecord).type, event!.type);
  assert.equal('sdk_name' in got.record, false);
});

test('bytes that are not a valid value under their schema are refused with a reason', async () => {
  const avro = new ProjectedAvro(registry);
  const decoder = new RecordDecoder(avro);
  const [event] = fc.sample(eventArb, { numRuns: 1, seed: 3 });
  const value = frame(eventsId, eventType.toBuffer(WIRE.events.toAvro(event!)));
  const unknownId = frame(2 ** 31 - 7, Buffer.from([2, 4]));
  await decoder.learn([value, unknownId, null, Buffer.from('{}')]);
  const fields = fieldSet(['project_id', 'timestamp_ms', 'received_at_ms', 'attributes']);
  assert.ok(decoder.decode('events', value, fields).ok);
  const reason = (v: Buffer | null) => {
    const d = decoder.decode('events', v, fields);
    return d.ok ? 'ok' : d.reason;
  };
  assert.equal(reason(value.subarray(0, value.length - 3)), 'undecodable', 'truncated');
  assert.equal(reason(Buffer.concat([value, Buffer.from([1, 2])])), 'undecodable', 'trailing bytes');
  assert.equal(reason(unknownId), 'unknown_schema');
  assert.equal(reason(Buffer.from('{}')), 'not_confluent_avro');
  assert.equal(reason(null), 'not_confluent_avro');
  const badAttributes = frame(eventsId, eventType.toBuffer({ ...WIRE.events.toAvro(event!), attributes: '[1]' }));
  assert.equal(reason(badAttributes), 'invalid_record');
  const notJson = frame(eventsId, eventType.toBuffer({ ...WIRE.events.toAvro(event!), attributes: '{' }));
  assert.equal(reason(notJson), 'undecodable');
  // Not asked for, attributes are neither parsed nor checked.
  assert.ok(decoder.decode('events', notJson, fieldSet(['project_id', 'timestamp_ms', 'received_at_ms'])).ok);
});
