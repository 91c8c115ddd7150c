/**
 * Kafka stops while senders keep sending: every request is answered 503 with Retry-After within a
 * bounded time, never 200; once Kafka is back requests are accepted again; and every event ever
 * answered 200 is in Kafka. Uses a private broker (the shared one is never stopped).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { serializeEnvelope } from '@vigil/sentry-protocol';
import { startStack, type StackConfig, type StartedStack } from '@vigil/stack';
import { freePort, testEnv } from '@vigil/testkit';
import { startTestIngest, type TestIngest } from '../testing/test-ingest';

const env = testEnv();
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-ingest-outage-'));
chmodSync(dataDir, 0o755);
let cfg: StackConfig;
let kafka: StartedStack;
let t: TestIngest;
const PRODUCE_TIMEOUT_MS = 3000;

before(async () => {
  cfg = {
    dataDir,
    cacheDir: env.cacheDir,
    ports: { kafka: await freePort(), kafkaController: await freePort(), registry: 0, postgres: 0, redis: 0 },
    external: { schemaRegistryUrl: env.schemaRegistryUrl, databaseUrl: env.adminDatabaseUrl, redisUrl: env.redisUrl },
    registryStorage: 'mem',
  };
  kafka = await startStack(cfg);
  t = await startTestIngest({ kafkaBrokers: kafka.endpoints.kafkaBrokers, config: { VIGIL_INGEST_PRODUCE_TIMEOUT: PRODUCE_TIMEOUT_MS } });
});

after(async () => {
  await t?.stop().catch(() => undefined);
  await kafka?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Sent {
  id: string;
  status: number;
  retryAfter: string | null;
  ms: number;
}

async function send(): Promise<Sent> {
  const id = randomBytes(16).toString('hex');
  const body = serializeEnvelope({ event_id: id }, [{ headers: { type: 'event' }, payload: JSON.stringify({ message: 'outage probe', level: 'error' }) }]);
  const started = Date.now();
  const res = await fetch(`${t.base}/api/${t.projectId}/envelope/?sentry_key=${t.publicKey}`, { method: 'POST', body });
  await res.arrayBuffer();
  return { id, status: res.status, retryAfter: res.headers.get('retry-after'), ms: Date.now() - started };
}

/** Four senders in a loop until `stop` says so; every answer is kept. */
function senders(answers: Sent[]): { stop(): Promise<void> } {
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      answers.push(await send());
      await sleep(20);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

test('Kafka down → 503 with Retry-After, never 200; back → 200; every 200 is in Kafka', async () => {
  const answers: Sent[] = [];
  const load = senders(answers);
  await sleep(1000);
  assert.ok(answers.some((a) => a.status === 200), 'accepted while Kafka is up');

  await kafka.stop();
  const stoppedAt = Date.now();
  await sleep(PRODUCE_TIMEOUT_MS * 3);
  const during = answers.filter((a) => a.status !== 200);
  assert.ok(during.length > 0, 'requests were refused while Kafka was down');
  for (const a of during) {
    assert.equal(a.status, 503);
    assert.equal(a.retryAfter, '5');
    assert.ok(a.ms < PRODUCE_TIMEOUT_MS + 5000, `answered in ${a.ms} ms`);
  }
  const ready = await fetch(`${t.base}/readyz`);
  assert.equal(ready.status, 503);
  const lastOkBeforeStop = answers.length;

  kafka = await startStack(cfg);
  const restartedAt = Date.now();
  const deadline = Date.now() + 90_000;
  while (!answers.slice(lastOkBeforeStop).some((a) => a.status === 200)) {
    assert.ok(Date.now() < deadline, 'accepted again within 90 s of Kafka being back');
    await sleep(200);
  }
  await sleep(1000);
  await load.stop();
  const tail = answers.slice(-10);
  assert.ok(tail.every((a) => a.status === 200), `accepting steadily again: ${tail.map((a) => a.status).join(',')}`);
  assert.deepEqual([...new Set(answers.map((a) => a.status))].sort(), [200, 503]);

  const accepted = answers.filter((a) => a.status === 200).map((a) => a.id);
  await t.inKafka(accepted, 60_000);
  const metrics = await t.metricsText();
  assert.match(metrics, /vigil_ingest_outcomes_total\{outcome="invalid",reason="event_log_unavailable",category="error",service="ingest"\} [1-9]/);
  assert.match(metrics, /vigil_ingest_event_log_available\{service="ingest"\} 1/);
  process.stderr.write(
    `# ${answers.length} requests: ${accepted.length} accepted, ${answers.length - accepted.length} answered 503; ` +
      `Kafka down ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s\n`,
  );
});
