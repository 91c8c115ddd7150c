import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOrganization, createProject, disableWebhook, listAttempts, getMessage, createWebhook } from '@vigil/db';
import { createKafka } from '@vigil/kafka';
import { silentLogger, testEnv } from '@vigil/testkit';
import { generateSecret, messageId } from '@vigil/webhook-signing';
import type { RunningDelivery } from '../delivery';
import { counterValue, createHarness, sampleAlert, type Harness } from '../testing/harness';
import { startReceiver, type Receiver } from '../testing/receiver';
import { alertEventId } from './alert-payload';

let h: Harness;
let receiver: Receiver;
let delivery: RunningDelivery;
const secrets = new Map<string, string>();

before(async () => {
  h = await createHarness();
  receiver = await startReceiver({
    // Each request is verified with the secret of the endpoint it was sent to (named in the path).
    secrets: () => [...secrets.values()],
    reply: () => ({ status: 204 }),
  });
  delivery = await h.start();
});
after(async () => {
  await h.close();
  await receiver.close();
});

const requestsTo = (name: string) => receiver.requests.filter((r) => r.path === `/hook?ep=${name}`);

async function endpoint(name: string, input: Parameters<Harness['endpoint']>[1] = {}) {
  const hook = await h.endpoint(`${receiver.url}?ep=${name}`, input);
  secrets.set(hook.id, hook.secret);
  return hook;
}

function verifiedBy(request: Receiver['requests'][number], secret: string): boolean {
  const index = [...secrets.values()].indexOf(secret);
  const v = request.verification[index];
  return Boolean(v?.standardwebhooks && v.svix);
}

test('an alert reaches every endpoint that wants it, once, signed so that standardwebhooks and svix accept it', async () => {
  const otherProject = (await createProject(h.pool, h.organizationId, 'other')).project.id;
  const all = await endpoint('all', { headers: { authorization: 'Bearer receiver-token', 'webhook-id': 'forged' } });
  const medium = await endpoint('medium', { minSeverity: 'medium', eventTypes: ['alert.created'] });
  await endpoint('other-project', { projectIds: [otherProject] });
  await endpoint('resolved-only', { eventTypes: ['alert.resolved'] });
  await endpoint('critical-only', { minSeverity: 'critical' });
  const off = await endpoint('disabled');
  await disableWebhook(h.pool, h.organizationId, off.id);
  const otherOrg = (await createOrganization(h.pool, `x-${Date.now()}`)).id;
  await createWebhook(h.pool, { organizationId: otherOrg, url: `${receiver.url}?ep=other-org`, secret: generateSecret() });

  const alert = sampleAlert(h.projectId, { severity: 'high' });
  await h.publish([alert]);
  await receiver.waitFor(() => requestsTo('all').length === 1 && requestsTo('medium').length === 1, 30_000, 'both deliveries');
  // Let anything wrongly routed arrive too.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.deepEqual(
    receiver.requests.map((r) => r.path).sort(),
    ['/hook?ep=all', '/hook?ep=medium'],
    'project filter, event types, minimum severity, disabled status and organization all exclude',
  );

  const [request] = requestsTo('all');
  assert.ok(request);
  assert.ok(verifiedBy(request, all.secret), 'standardwebhooks and svix verify with the endpoint secret');
  assert.ok(verifiedBy(requestsTo('medium')[0]!, medium.secret));
  assert.equal(request.id, messageId(alertEventId(alert), all.id), 'webhook-id is derived from the event and the endpoint');
  assert.match(request.id, /^msg_[a-z2-7]{32}$/);
  assert.equal(request.headers['content-type'], 'application/json');
  assert.match(String(request.headers['user-agent']), /^Vigil\/\d+\.\d+\.\d+$/);
  assert.equal(request.headers.authorization, 'Bearer receiver-token', 'custom headers are sent');
  assert.match(String(request.headers['webhook-signature']), /^v1,[A-Za-z0-9+/]+=*$/);
  assert.ok(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000) < 60);

  const body = JSON.parse(request.body) as { type: string; timestamp: string; data: Record<string, unknown> };
  assert.deepEqual(Object.keys(body), ['type', 'timestamp', 'data']);
  assert.equal(body.type, 'alert.created');
  assert.equal(body.timestamp, new Date(alert.updated_at_ms).toISOString());
  assert.equal(body.data.id, alert.id);
  assert.equal(body.data.severity, 'high');
  assert.equal(body.data.project_id, h.projectId);
  assert.deepEqual(body.data.evidence, alert.evidence);
  assert.equal(body.data.created_at, new Date(alert.created_at_ms).toISOString());

  await waitUntil(async () => (await getMessage(h.pool, h.organizationId, request.id))?.status === 'delivered', 'message recorded as delivered');
  const [attempt] = await listAttempts(h.pool, h.organizationId, { messageId: request.id });
  assert.equal(attempt?.attempt, 1);
  assert.equal(attempt?.status_code, 204);
  assert.equal(attempt?.error_class, null);
  assert.equal(attempt?.remote_address, '127.0.0.1');
});

test('a replayed alert event is not sent again; a later change of the alert is', async () => {
  const hook = await endpoint('replay');
  const alert = sampleAlert(h.projectId);
  await h.publish([alert]);
  await receiver.waitFor(() => requestsTo('replay').length === 1, 30_000, 'first delivery');
  const id = requestsTo('replay')[0]!.id;
  await waitUntil(async () => (await getMessage(h.pool, h.organizationId, id))?.status === 'delivered', 'delivered');

  // The same event again (a rule engine republishing after a crash), and a whole-topic replay by a
  // second delivery instance in a new consumer group.
  const consumedBefore = await counterValue(delivery.metrics, 'vigil_delivery_alerts_consumed_total');
  await h.publish([{ ...alert, updated_at_ms: alert.updated_at_ms + 5 }]);
  const replayer = await h.start({ VIGIL_DELIVERY_GROUP: `${h.topicPrefix}replay` });
  const total = await topicRecordCount();
  await waitUntil(
    async () =>
      (await counterValue(delivery.metrics, 'vigil_delivery_alerts_consumed_total')) > consumedBefore &&
      (await counterValue(replayer.metrics, 'vigil_delivery_alerts_consumed_total')) >= total,
    'the republished event and the replay consumed',
  );
  await new Promise((resolve) => setTimeout(resolve, 1000));
  assert.equal(requestsTo('replay').length, 1, 'still one request');
  await replayer.stop();

  const resolved = { ...alert, event_type: 'alert.resolved' as const, status: 'resolved' as const, updated_at_ms: alert.updated_at_ms + 60_000 };
  await h.publish([resolved]);
  await receiver.waitFor(() => requestsTo('replay').length === 2, 30_000, 'the resolution');
  const second = requestsTo('replay')[1]!;
  assert.notEqual(second.id, id);
  assert.equal(second.id, messageId(alertEventId(resolved), hook.id));
  assert.equal((JSON.parse(second.body) as { type: string }).type, 'alert.resolved');
});

test('an endpoint created after an alert was written does not receive it', async () => {
  const early = sampleAlert(h.projectId);
  await delivery.stop();
  await h.publish([early]);
  await endpoint('late');
  delivery = await h.start();
  await waitUntil(async () => (await counterValue(delivery.metrics, 'vigil_delivery_alerts_consumed_total')) >= 1, 'the early alert consumed');
  const next = sampleAlert(h.projectId);
  await h.publish([next]);
  await receiver.waitFor(() => requestsTo('late').length >= 1, 30_000, 'the later alert');
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(
    requestsTo('late').map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id),
    [next.id],
  );
});

test('records that cannot be read are dead-lettered and counted; alerts of unknown projects are counted', async () => {
  const env = testEnv();
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'delivery-test-raw', logger: silentLogger() });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: h.codecs.alerts.topic, messages: [{ key: 'junk', value: Buffer.from('not avro at all') }] });
  await producer.disconnect();
  await h.publish([sampleAlert(987_654)]);
  await waitUntil(
    async () =>
      (await counterValue(delivery.metrics, 'vigil_delivery_alerts_dropped_total', { reason: 'undecodable' })) === 1 &&
      (await counterValue(delivery.metrics, 'vigil_delivery_alerts_dropped_total', { reason: 'unknown_project' })) === 1,
    'both counted',
  );

  const consumer = kafka.consumer({ groupId: `${h.topicPrefix}dlq-reader` });
  await consumer.connect();
  await consumer.subscribe({ topic: h.codecs.deadletter.topic, fromBeginning: true });
  const dead = await new Promise<{ reason: string; service: string; value: Buffer | null }>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        resolve(await h.codecs.deadletter.decode(message.value!));
      },
    });
  });
  await consumer.disconnect();
  assert.equal(dead.service, 'delivery');
  assert.equal(dead.reason, 'undecodable');
  assert.equal(dead.value?.toString(), 'not avro at all');
});

async function topicRecordCount(): Promise<number> {
  const env = testEnv();
  const admin = createKafka({ brokers: env.kafkaBrokers, clientId: 'delivery-test-admin', logger: silentLogger() }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(h.codecs.alerts.topic);
  await admin.disconnect();
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
