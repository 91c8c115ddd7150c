/**
 * The flow ingest body handler against real Kafka and the registry: captured softflowd and pmacct
 * exports replayed as `application/x-netflow` and `application/ipfix` bodies come out of
 * `vigil.flows.v1` exactly as tshark read them; templates are remembered per key and observation
 * domain, data without them is answered 422 naming the template id and writes nothing; every other
 * refusal has its status.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowRecord } from '@vigil/contracts';
import { encodeNetflowBody, parseNetflowBody } from '@vigil/flow-decoder';
import { ipfix, rec, f, type TsharkExpectations } from '@vigil/flow-decoder/testing';
import { BatchingProducer, createCodecs, createKafka, createSchemaRegistry, ensureTopics, runConsumer, type Codecs, type ConsumerRunner } from '@vigil/kafka';
import { createMetrics, type Registry } from '@vigil/service-runtime';
import { silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import { AvroFlowWriter } from './avro-flow-writer';
import { FlowMessageBuilder } from './flow-messages';
import { FlowPublisher } from './flow-publisher';
import { createHttpFlowIngest, type HttpFlowIngest } from './http-flow-ingest';
import { flowPartitioner } from './partition-key';

const FIXTURES = new URL('../../flow-decoder/fixtures/', import.meta.url);
const fixture = (name: string) => ({
  datagrams: parseNetflowBody(readFileSync(new URL(`${name}.netflow`, FIXTURES))).datagrams,
  tshark: JSON.parse(readFileSync(new URL(`${name}.tshark.json`, FIXTURES), 'utf8')) as TsharkExpectations,
});

function tsharkLines(t: TsharkExpectations): string[] {
  let rate = 1;
  const rates = t.datagrams.map((d) => (rate = d.sampling ?? rate));
  return t.flows
    .map((x) => {
      const r = rates[x.datagram] ?? 1;
      return `${x.proto} ${x.src}:${x.sport} > ${x.dst}:${x.dport} ${x.bytes * r}B ${x.packets * r}p ${x.start_ms}-${x.end_ms}`;
    })
    .sort();
}
const line = (r: FlowRecord) => `${r.protocol} ${r.src_addr}:${r.src_port} > ${r.dst_addr}:${r.dst_port} ${r.bytes}B ${r.packets}p ${r.flow_start_ms}-${r.flow_end_ms}`;

describe('HTTP flow ingest', () => {
  let codecs: Codecs;
  let producer: BatchingProducer;
  let reader: ConsumerRunner;
  let ingest: HttpFlowIngest;
  let metrics: Registry;
  const seen: FlowRecord[] = [];
  let project = 100;

  before(async () => {
    const env = testEnv();
    const prefix = uniquePrefix('httpflows');
    const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'http-flows-test', logger: silentLogger() });
    await ensureTopics(kafka, prefix);
    codecs = await createCodecs(createSchemaRegistry(env.schemaRegistryUrl), prefix);
    producer = new BatchingProducer(kafka, { lingerMs: 0, producer: { createPartitioner: flowPartitioner } });
    await producer.connect();
    metrics = createMetrics('ingest-test');
    ingest = createHttpFlowIngest({
      publisher: new FlowPublisher({ producer, topic: codecs.flows.topic }),
      messages: new FlowMessageBuilder(new AvroFlowWriter(codecs.flows.schemaId)),
      metrics,
    });
    reader = await runConsumer({
      kafka,
      groupId: `${prefix}reader`,
      topics: [codecs.flows.topic],
      logger: silentLogger(),
      handleBatch: async (batch) => {
        for (const m of batch.messages) seen.push(await codecs.flows.decode(m.value!));
      },
    });
  });
  after(async () => {
    ingest.close();
    await reader.stop();
    await producer.disconnect();
  });

  const inKafka = async (projectId: number, count: number) => {
    const deadline = Date.now() + 20_000;
    while (seen.filter((r) => r.project_id === projectId).length < count && Date.now() < deadline) await sleep(50);
    await sleep(200);
    return seen.filter((r) => r.project_id === projectId);
  };
  const post = (body: Buffer, contentType: string, publicKey = 'a'.repeat(32), projectId = project) =>
    ingest.handle({ projectId, publicKey, contentType, body, exporter: '198.51.100.7' });

  it('replays captured softflowd and pmacct exports (application/x-netflow) into Kafka exactly', async () => {
    for (const name of ['softflowd-ipfix', 'softflowd-v9', 'softflowd-v5', 'softflowd-ipfix-sampled', 'pmacct-ipfix']) {
      const { datagrams, tshark } = fixture(name);
      const id = ++project;
      const res = await post(encodeNetflowBody(datagrams), 'application/x-netflow', `${name.replace(/\W/g, '')}`.padEnd(32, '0'), id);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(res.body, { accepted: tshark.flows.length });
      const got = await inKafka(id, tshark.flows.length);
      assert.deepEqual(got.map(line).sort(), tsharkLines(tshark), name);
      assert.ok(got.every((r) => r.exporter === '198.51.100.7'));
    }
  });

  it('takes a softflowd IPFIX-over-TCP capture as an application/ipfix body', async () => {
    const stream = readFileSync(new URL('softflowd-ipfix-tcp.ipfix-stream', FIXTURES));
    const id = ++project;
    const res = await post(stream, 'application/ipfix; charset=binary', 'b'.repeat(32), id);
    assert.equal(res.status, 200);
    const { tshark } = fixture('softflowd-ipfix');
    assert.deepEqual((await inKafka(id, tshark.flows.length)).map(line).sort(), tsharkLines(tshark));
  });

  it('answers 422 naming the template for data sent before its template, per key and domain, writing nothing', async () => {
    const { datagrams, tshark } = fixture('softflowd-ipfix');
    const [withTemplates, ...dataOnly] = datagrams;
    const key = 'c'.repeat(32);
    const id = ++project;
    const missing = await post(encodeNetflowBody(dataOnly), 'application/x-netflow', key, id);
    assert.equal(missing.status, 422);
    assert.equal(missing.body.code, 'missing_template');
    const ids = (missing.body.missing_templates as { template_id: number; observation_domain: number }[]).map((m) => m.template_id);
    assert.ok(ids.length > 0 && ids.every((t) => t >= 256));
    assert.match(String(missing.body.detail), new RegExp(`template ${ids[0]} \\(observation domain 0\\)`));

    // The templates (with their datagram's data) once; later bodies with data only decode.
    assert.equal((await post(encodeNetflowBody([withTemplates!]), 'application/x-netflow', key, id)).status, 200);
    assert.equal((await post(encodeNetflowBody(dataOnly), 'application/x-netflow', key, id)).status, 200);
    assert.deepEqual((await inKafka(id, tshark.flows.length)).map(line).sort(), tsharkLines(tshark), 'the 422 wrote nothing');

    // Another key has not sent them.
    assert.equal((await post(encodeNetflowBody(dataOnly), 'application/x-netflow', 'd'.repeat(32), id)).status, 422);
    // Nor has another observation domain of the same key.
    const otherDomain = Buffer.from(dataOnly[0]!);
    otherDomain.writeUInt32BE(5, 12);
    const res = await post(encodeNetflowBody([otherDomain]), 'application/x-netflow', key, id);
    assert.equal(res.status, 422);
    assert.deepEqual((res.body.missing_templates as { observation_domain: number }[]).map((m) => m.observation_domain), [5]);
  });

  it('refuses bodies it cannot read, with a status and a reason', async () => {
    const { datagrams } = fixture('softflowd-v5');
    const cases: Array<[Buffer, string, number, string]> = [
      [encodeNetflowBody(datagrams), 'application/json', 415, 'unsupported_media_type'],
      [encodeNetflowBody(datagrams), '', 415, 'unsupported_media_type'],
      [Buffer.alloc(0), 'application/x-netflow', 400, 'empty_body'],
      [encodeNetflowBody(datagrams).subarray(0, 100), 'application/x-netflow', 400, 'malformed_body'],
      [Buffer.from([0, 0, 1, 2]), 'application/x-netflow', 400, 'malformed_body'],
      [Buffer.from('GET / HTTP/1.1\r\n\r\n'), 'application/ipfix', 400, 'malformed_body'],
      [readFileSync(new URL('softflowd-ipfix-tcp.ipfix-stream', FIXTURES)).subarray(0, 500), 'application/ipfix', 400, 'malformed_body'],
      [encodeNetflowBody([Buffer.from([0, 7, 0, 1, 2, 3])]), 'application/x-netflow', 400, 'invalid_datagram'],
    ];
    for (const [body, type, status, code] of cases) {
      const res = await post(body, type);
      assert.equal(res.status, status, `${type} ${code}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.code, code);
      assert.equal(typeof res.body.detail, 'string');
    }
    const text = await metrics.metrics();
    assert.match(text, /vigil_ingest_flow_requests_total\{outcome="malformed_body",service="ingest-test"\} 4/);
  });

  it('counts records the decoder drops in an accepted body, and answers 503 when Kafka does not acknowledge', async () => {
    const noAddresses = ipfix.message({ sequence: 0 }, [
      ipfix.templateSet([{ id: 300, fields: [f(1, 8), f(2, 8)] }]),
      ipfix.dataSet(300, [rec().u64(100).u64(1).build()]),
    ]);
    const res = await post(noAddresses, 'application/ipfix', 'e'.repeat(32));
    assert.deepEqual(res.body, { accepted: 0, dropped: { no_ip_addresses: 1 } });

    const failing = new BatchingProducer(createKafka({ brokers: testEnv().kafkaBrokers, clientId: 'http-flows-failing', logger: silentLogger() }), {
      lingerMs: 0,
      producer: { retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } },
    });
    await failing.connect();
    const down = createHttpFlowIngest({
      publisher: new FlowPublisher({ producer: failing, topic: `${codecs.flows.topic}.missing` }),
      messages: new FlowMessageBuilder(new AvroFlowWriter(codecs.flows.schemaId)),
      retryAfterSeconds: 7,
    });
    try {
      const r = await down.handle({ projectId: 1, publicKey: 'f'.repeat(32), contentType: 'application/x-netflow', body: encodeNetflowBody(fixture('softflowd-v5').datagrams), exporter: '::1' });
      assert.equal(r.status, 503);
      assert.equal(r.headers['retry-after'], '7');
      assert.equal(r.body.code, 'kafka_unavailable');
    } finally {
      down.close();
      await failing.disconnect();
    }
  });
});
