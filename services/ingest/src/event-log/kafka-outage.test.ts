/**
 * Kafka stops while senders keep sending, to two ingests on one private broker (the shared one is
 * never stopped):
 *
 * - without a spool, every request is answered 503 with Retry-After within a bounded time, never
 *   200, and once Kafka is back requests are accepted again;
 * - with a spool, requests are answered 200 once fsynced to it, the spool survives an ingest restart
 *   during the outage, and it is delivered when Kafka is back;
 *
 * and for both, every event ever answered 200 is in Kafka.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import { encodeNetflowBody, parseNetflowBody } from '@vigil/flow-decoder';
import { serializeEnvelope } from '@vigil/sentry-protocol';
import { startStack, type StackConfig, type StartedStack } from '@vigil/stack';
import { freePort, testEnv } from '@vigil/testkit';
import { startTestIngest, type TestIngest } from '../testing/test-ingest';

const env = testEnv();
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-ingest-outage-'));
chmodSync(dataDir, 0o755);
const spoolDir = join(dataDir, 'spool');
let cfg: StackConfig;
let kafka: StartedStack;
/** Without a spool. */
let plain: TestIngest;
/** With a spool. */
let spooled: TestIngest;
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
  const brokers = kafka.endpoints.kafkaBrokers;
  // One after the other: topics created concurrently on a broker that just started can fail their metadata wait.
  plain = await startTestIngest({ kafkaBrokers: brokers, config: { VIGIL_INGEST_PRODUCE_TIMEOUT: PRODUCE_TIMEOUT_MS } });
  spooled = await startTestIngest({
    kafkaBrokers: brokers,
    config: { VIGIL_INGEST_PRODUCE_TIMEOUT: PRODUCE_TIMEOUT_MS, VIGIL_INGEST_SPOOL_DIR: spoolDir },
  });
});

after(async () => {
  await Promise.all([plain?.stop().catch(() => undefined), spooled?.stop().catch(() => undefined)]);
  await kafka?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Sent {
  id: string;
  status: number;
  retryAfter: string | null;
  ms: number;
}

async function send(t: TestIngest): Promise<Sent> {
  const id = randomBytes(16).toString('hex');
  const body = serializeEnvelope({ event_id: id }, [{ headers: { type: 'event' }, payload: JSON.stringify({ message: 'outage probe', level: 'error' }) }]);
  const started = Date.now();
  const res = await fetch(`${t.base}/api/${t.projectId}/envelope/?sentry_key=${t.publicKey}`, { method: 'POST', body });
  await res.arrayBuffer();
  return { id, status: res.status, retryAfter: res.headers.get('retry-after'), ms: Date.now() - started };
}

const FLOWS = encodeNetflowBody(
  parseNetflowBody(readFileSync(new URL('../../../../packages/flow-decoder/fixtures/softflowd-v5.netflow', import.meta.url))).datagrams,
);

/** NetFlow v5 export posted to the flows endpoint (no templates needed). */
async function sendFlows(t: TestIngest): Promise<{ status: number; reason: string; retryAfter: string | null }> {
  const res = await fetch(`${t.base}/api/${t.projectId}/flows/?sentry_key=${t.publicKey}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-netflow' },
    body: FLOWS,
  });
  const body = (await res.json()) as { reason?: string };
  return { status: res.status, reason: body.reason ?? '', retryAfter: res.headers.get('retry-after') };
}

async function sendMany(t: TestIngest, n: number): Promise<Sent[]> {
  const out: Sent[] = [];
  for (let i = 0; i < n; i += 4) out.push(...(await Promise.all([send(t), send(t), send(t), send(t)])));
  return out;
}

/** Four senders in a loop until stopped; every answer is kept. */
function senders(t: TestIngest, answers: Sent[]): { stop(): Promise<void> } {
  let running = true;
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      answers.push(await send(t));
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

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    assert.ok(Date.now() < deadline, what);
    await sleep(100);
  }
}

const metric = async (t: TestIngest, name: string) => Number(new RegExp(`${name}\\{service="ingest"\\} (\\d+)`).exec(await t.metricsText())?.[1] ?? NaN);
const statuses = (answers: Sent[]) => [...new Set(answers.map((a) => a.status))].sort();

test('Kafka down: 503 (never 200) without a spool, 200 from the spool with one; back: accepted and delivered; every 200 is in Kafka', async () => {
  const answers: Sent[] = [];
  const load = senders(plain, answers);
  try {
    const spooledBefore = await sendMany(spooled, 8);
    assert.deepEqual(statuses(spooledBefore), [200]);
    assert.equal(await metric(spooled, 'vigil_ingest_spool_bytes'), 0, 'nothing spooled while Kafka is up');
    await until('accepted while Kafka is up', () => answers.some((a) => a.status === 200), 60_000);

    await kafka.stop();
    const stoppedAt = Date.now();
    const sentBeforeStop = answers.length;

    // With a spool: accepted.
    const spooledDuring = await sendMany(spooled, 40);
    assert.deepEqual(statuses(spooledDuring), [200], 'spooled, not refused');
    for (const a of spooledDuring) assert.ok(a.ms < PRODUCE_TIMEOUT_MS + 5000, `answered in ${a.ms} ms`);
    assert.ok((await metric(spooled, 'vigil_ingest_spool_bytes')) > 0);
    assert.ok((await metric(spooled, 'vigil_ingest_spooled_events_total')) >= 40);
    assert.equal((await fetch(`${spooled.base}/readyz`)).status, 200, 'ready: accepting durably');
    // Flows are never spooled: 200 on the flows endpoint means in Kafka, so both ingests refuse them.
    for (const t of [spooled, plain]) {
      const flows = await sendFlows(t);
      assert.deepEqual(flows, { status: 503, reason: 'event_log_unavailable', retryAfter: '5' }, 'flows while Kafka is down');
    }

    // Without: refused. Requests acknowledged just before the stop may still come back 200; wait for the refusals.
    await until('refused while Kafka is down', () => answers.slice(sentBeforeStop).filter((a) => a.status === 503).length >= 8, 60_000);
    const refusedFrom = answers.findIndex((a, i) => i >= sentBeforeStop && a.status === 503);
    await sleep(PRODUCE_TIMEOUT_MS);
    for (const a of answers.slice(refusedFrom)) {
      assert.equal(a.status, 503, 'no 200 while Kafka is down');
      assert.equal(a.retryAfter, '5');
      assert.ok(a.ms < PRODUCE_TIMEOUT_MS + 5000, `answered in ${a.ms} ms`);
    }
    assert.equal((await fetch(`${plain.base}/readyz`)).status, 503);
    const downUntil = answers.length;

    // The spooling ingest restarts while Kafka is still down: the new process takes the spool over and starts anyway.
    await spooled.restartIngest();
    assert.ok(readdirSync(spoolDir).some((f) => f.startsWith('seg-')));
    const spooledAfterRestart = await sendMany(spooled, 12);
    assert.deepEqual(statuses(spooledAfterRestart), [200]);

    kafka = await startStack(cfg);
    const restartedAt = Date.now();
    await until('accepted again once Kafka is back', () => answers.slice(downUntil).some((a) => a.status === 200), 120_000);
    // Steadily: ten answers in a row are 200 (a loaded broker may still time a few out at first).
    await until('accepting steadily again', () => answers.length - downUntil >= 10 && answers.slice(-10).every((a) => a.status === 200), 120_000);
    await load.stop();
    assert.deepEqual(statuses(answers), [200, 503]);
    const accepted = answers.filter((a) => a.status === 200).map((a) => a.id);
    await plain.inKafkaFromScratch(accepted);
    const plainMetrics = await plain.metricsText();
    assert.match(plainMetrics, /vigil_ingest_outcomes_total\{outcome="invalid",reason="event_log_unavailable",category="error",service="ingest"\} [1-9]/);
    assert.match(plainMetrics, /vigil_ingest_event_log_available\{service="ingest"\} 1/);

    await spooled.inKafkaFromScratch([...spooledBefore, ...spooledDuring, ...spooledAfterRestart].map((a) => a.id));
    await until('spool emptied', async () => (await metric(spooled, 'vigil_ingest_spool_bytes')) === 0, 60_000);
    assert.ok((await metric(spooled, 'vigil_ingest_spool_delivered_events_total')) >= 12);
    assert.equal((await sendFlows(spooled)).status, 200, 'flows accepted again');
    const direct = await sendMany(spooled, 8);
    assert.deepEqual(statuses(direct), [200]);
    await spooled.inKafkaFromScratch(direct.map((a) => a.id));
    assert.equal(await metric(spooled, 'vigil_ingest_spool_bytes'), 0, 'writing to Kafka directly again');
    process.stderr.write(
      `# without spool: ${answers.length} requests, ${accepted.length} answered 200, ${answers.length - accepted.length} answered 503; ` +
        `with spool: ${spooledDuring.length + spooledAfterRestart.length} answered 200 while Kafka was down; Kafka down ${((restartedAt - stoppedAt) / 1000).toFixed(1)} s\n`,
    );
  } finally {
    await load.stop();
  }
});
