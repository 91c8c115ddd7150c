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
  try {
    await until('accepted while Kafka is up', () => answers.some((a) => a.status === 200), 60_000);

    await kafka.stop();
    const stoppedAt = Date.now();
    const sentBeforeStop = answers.length;
    // Requests already acknowledged when the broker went away may still come back 200; wait for the refusals.
    await until('refused while Kafka is down', () => answers.slice(sentBeforeStop).filter((a) => a.status === 503).length >= 8, 60_000);
    const refusedFrom = answers.findIndex((a, i) => i >= sentBeforeStop && a.status === 503);
    await sleep(PRODUCE_TIMEOUT_MS * 2);
    const during = answers.slice(refusedFrom);
    for (const a of during) {
      assert.equal(a.status, 503, 'no 200 while Kafka is down');
      assert.equal(a.retryAfter, '5');
      assert.ok(a.ms < PRODUCE_TIMEOUT_MS + 5000, `answered in ${a.ms} ms`);
    }
    assert.equal((await fetch(`${t.base}/readyz`)).status, 503);
    const downUntil = answers.length;

    kafka = await startStack(cfg);
    const restartedAt = Date.now();
    await until('accepted again once Kafka is back', () => answers.slice(downUntil).some((a) => a.status === 200), 120_000);
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
  } finally {
    await load.stop();
  }
});

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    assert.ok(Date.now() < deadline, what);
    await sleep(100);
  }
}
