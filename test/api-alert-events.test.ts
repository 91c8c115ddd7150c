import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AlertRecord } from '@vigil/contracts';
import { loadConfig } from '@vigil/config';
import { createProject } from '@vigil/db';
import { createCodecs, createKafka, createSchemaRegistry, ensureTopics, type Codecs } from '@vigil/kafka';
import { silentLogger, testEnv, uniquePrefix } from '@vigil/testkit';
import type { Consumer } from 'kafkajs';
import { rulesConfigShape, startRules, type RunningRules } from '../services/rules/src/index';
import { ApiHarness, assertOk } from '../services/api/src/testing/api-harness';
import { seedAlerts } from '../services/api/src/testing/seed-alerts';

/**
 * Acknowledging and resolving an alert through the API reaches the alerts topic as `alert.updated`
 * and `alert.resolved` (the read API writes the outbox, the rule workers publish it), with who did it.
 */
const env = testEnv();
const prefix = uniquePrefix('apial');
let h: ApiHarness;
let rules: RunningRules;
let consumer: Consumer;
let codecs: Codecs;
const received: AlertRecord[] = [];

before(async () => {
  h = await ApiHarness.start();
  const kafka = createKafka({ brokers: env.kafkaBrokers, clientId: 'api-alert-events-test', logger: silentLogger() });
  await ensureTopics(kafka, prefix);
  codecs = await createCodecs(createSchemaRegistry(env.schemaRegistryUrl), prefix);
  consumer = kafka.consumer({ groupId: `${prefix}observer` });
  await consumer.connect();
  await consumer.subscribe({ topic: codecs.alerts.topic, fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void received.push(await codecs.alerts.decode(message.value!)) });
  rules = await startRules(
    loadConfig(rulesConfigShape, {
      KAFKA_BROKERS: env.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: h.databaseUrl,
      VIGIL_TOPIC_PREFIX: prefix,
      VIGIL_RULES_ADMIN_ADDR: '127.0.0.1:0',
      VIGIL_RULES_PARTITIONS: '2',
    }),
    silentLogger(),
  );
});
after(async () => {
  await rules?.stop();
  await consumer?.disconnect();
  await h?.stop();
});

async function eventsOf(alertId: string, count: number): Promise<AlertRecord[]> {
  for (let i = 0; i < 600; i++) {
    const mine = received.filter((r) => r.id === alertId);
    if (mine.length >= count) return mine;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`alert ${alertId}: ${received.filter((r) => r.id === alertId).length} of ${count} events on the topic`);
}

test('acknowledge and resolve through the API are published as alert.updated and alert.resolved', async () => {
  const { org, token } = await h.tenant();
  await h.pool.query("update api_tokens set name = 'oncall-bob' where organization_id = $1", [org.id]);
  const { project } = await createProject(h.pool, org.id, 'web');
  const [id] = await seedAlerts(h.pool, [{ project_id: project.id }]);
  await eventsOf(id!, 1);
  assertOk(await h.post(`/v1/alerts/${id}/acknowledge`, undefined, { token }));
  assertOk(await h.post(`/v1/alerts/${id}/resolve`, undefined, { token }));
  const events = await eventsOf(id!, 3);
  assert.deepEqual(
    events.map((e) => [e.event_type, e.status, e.actor]),
    [
      ['alert.created', 'open', null],
      ['alert.updated', 'acknowledged', 'oncall-bob'],
      ['alert.resolved', 'resolved', 'oncall-bob'],
    ],
  );
  // The API shows each event as published once the publisher has recorded the topic's acknowledgement.
  let published = false;
  for (let i = 0; i < 100 && !published; i++) {
    const detail = await h.get(`/v1/alerts/${id}`, { token });
    published = detail.body.data.events.length === 3 && detail.body.data.events.every((e: { published: boolean }) => e.published);
    if (!published) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(published);
});
