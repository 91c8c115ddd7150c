/**
 * `POST /api/{project_id}/flows/` through the running ingest, authenticated by DSN key like the
 * event endpoints: captured softflowd exports replayed as `application/x-netflow` and
 * `application/ipfix` bodies come out of `vigil.flows.v1` exactly as tshark read them; data before
 * its templates is 422 naming them; every refusal has ingest's error body.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FlowRecord } from '@vigil/contracts';
import { encodeNetflowBody, parseNetflowBody } from '@vigil/flow-decoder';
import type { TsharkExpectations } from '@vigil/flow-decoder/testing';
import { createKafka, runConsumer, type ConsumerRunner } from '@vigil/kafka';
import { silentLogger, testEnv } from '@vigil/testkit';
import { newKey, startTestIngest, type TestIngest } from '../testing/test-ingest';

const FIXTURES = new URL('../../../../packages/flow-decoder/fixtures/', import.meta.url);
const fixture = (name: string) => ({
  datagrams: parseNetflowBody(readFileSync(new URL(`${name}.netflow`, FIXTURES))).datagrams,
  tshark: JSON.parse(readFileSync(new URL(`${name}.tshark.json`, FIXTURES), 'utf8')) as TsharkExpectations,
});
const tsharkLines = (t: TsharkExpectations) =>
  t.flows.map((x) => `${x.proto} ${x.src}:${x.sport} > ${x.dst}:${x.dport} ${x.bytes}B ${x.packets}p ${x.start_ms}-${x.end_ms}`).sort();
const line = (r: FlowRecord) => `${r.protocol} ${r.src_addr}:${r.src_port} > ${r.dst_addr}:${r.dst_port} ${r.bytes}B ${r.packets}p ${r.flow_start_ms}-${r.flow_end_ms}`;

describe('flows endpoint', () => {
  let t: TestIngest;
  let reader: ConsumerRunner;
  const flows: Array<{ record: FlowRecord; key: string }> = [];

  before(async () => {
    t = await startTestIngest();
    reader = await runConsumer({
      kafka: createKafka({ brokers: testEnv().kafkaBrokers, clientId: 'flows-endpoint-test', logger: silentLogger() }),
      groupId: `${t.prefix}flows-reader`,
      topics: [t.codecs.flows.topic],
      logger: silentLogger(),
      handleBatch: async (batch) => {
        for (const m of batch.messages) flows.push({ record: await t.codecs.flows.decode(m.value!), key: m.key?.toString() ?? '' });
      },
    });
  });
  after(async () => {
    await reader?.stop();
    await t?.stop();
  });

  const post = (body: Buffer, contentType: string, publicKey = t.publicKey, projectId = t.projectId) =>
    fetch(`${t.base}/api/${projectId}/flows/`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-sentry-auth': `Sentry sentry_key=${publicKey}, sentry_version=7` },
      body,
    });
  const waitFor = async (n: number, since: number) => {
    const deadline = Date.now() + 20_000;
    const mine = () => flows.filter((f) => f.record.received_at_ms >= since);
    while (mine().length < n && Date.now() < deadline) await sleep(50);
    await sleep(200);
    return mine();
  };

  it('stores a replayed softflowd export, as tshark reads it, attributed to the key’s project', async () => {
    const { datagrams, tshark } = fixture('softflowd-ipfix');
    const since = Date.now();
    const res = await post(encodeNetflowBody(datagrams), 'application/x-netflow');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { accepted: tshark.flows.length });
    const got = await waitFor(tshark.flows.length, since);
    assert.deepEqual(got.map((f) => line(f.record)).sort(), tsharkLines(tshark));
    for (const f of got) {
      assert.equal(f.record.project_id, t.projectId);
      assert.equal(f.record.exporter, '127.0.0.1');
      assert.equal(f.key, `${t.projectId}/${f.record.src_addr}`);
    }

    const stream = readFileSync(new URL('softflowd-ipfix-tcp.ipfix-stream', FIXTURES));
    const since2 = Date.now();
    const res2 = await post(stream, 'application/ipfix');
    assert.equal(res2.status, 200);
    assert.deepEqual((await waitFor(tshark.flows.length, since2)).map((f) => line(f.record)).sort(), tsharkLines(tshark));
  });

  it('answers 422 naming the templates a key has not sent, and decodes once it has', async () => {
    const { datagrams, tshark } = fixture('softflowd-v9');
    const key = await newKey(t.pool, t.projectId);
    const [templates, ...data] = datagrams;
    const since = Date.now();
    const missing = await post(encodeNetflowBody(data), 'application/x-netflow', key.publicKey);
    assert.equal(missing.status, 422);
    const body = (await missing.json()) as { reason: string; detail: string; issues: { field: string }[] };
    assert.equal(body.reason, 'missing_template');
    assert.match(body.detail, /data for template \d+ \(observation domain 0\)/);
    assert.ok(body.issues.length > 0 && body.issues.every((i) => /^observation_domain=0,template_id=\d+$/.test(i.field)));
    assert.equal(missing.headers.get('x-sentry-error'), body.detail.slice(0, 197) + (body.detail.length > 200 ? '...' : body.detail.slice(197)));

    assert.equal((await post(encodeNetflowBody([templates!]), 'application/x-netflow', key.publicKey)).status, 200);
    assert.equal((await post(encodeNetflowBody(data), 'application/x-netflow', key.publicKey)).status, 200);
    assert.deepEqual((await waitFor(tshark.flows.length, since)).map((f) => line(f.record)).sort(), tsharkLines(tshark), 'the 422 wrote nothing');
  });

  it('refuses what it cannot take with ingest’s statuses and reasons', async () => {
    const body = encodeNetflowBody(fixture('softflowd-v5').datagrams);
    const cases: Array<[Promise<Response>, number, string]> = [
      [post(body, 'application/json'), 415, 'unsupported_content_type'],
      [post(body.subarray(0, 50), 'application/x-netflow'), 400, 'invalid_flow_body'],
      [post(Buffer.from('not ipfix at all'), 'application/ipfix'), 400, 'invalid_flow_body'],
      [post(encodeNetflowBody([Buffer.from([0, 7, 1, 2])]), 'application/x-netflow'), 400, 'invalid_flow_body'],
      [post(body, 'application/x-netflow', 'f'.repeat(32)), 403, 'invalid_key'],
      [post(body, 'application/x-netflow', t.otherPublicKey), 403, 'project_id_mismatch'],
      [fetch(`${t.base}/api/${t.projectId}/flows/`, { method: 'POST', headers: { 'content-type': 'application/x-netflow' }, body }), 401, 'missing_auth'],
    ];
    for (const [request, status, reason] of cases) {
      const res = await request;
      const json = (await res.json()) as { reason: string };
      assert.equal(res.status, status, JSON.stringify(json));
      assert.equal(json.reason, reason);
    }
    const metrics = await t.metricsText();
    assert.match(metrics, /category="flow"/);
  });
});
