import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { serializeEnvelope } from '@vigil/sentry-protocol';
import { startTestIngest, type TestIngest } from '../testing/test-ingest';

let t: TestIngest;
before(async () => {
  t = await startTestIngest();
});
after(() => t?.stop());

test('stopping refuses new connections, answers the requests in flight, and flushes them to Kafka', async () => {
  const eventId = randomBytes(16).toString('hex');
  const body = serializeEnvelope({ event_id: eventId }, [{ headers: { type: 'event' }, payload: JSON.stringify({ message: 'in flight at shutdown' }) }]);
  const half = Math.floor(body.length / 2);

  const answer = new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
    const req = request(
      `${t.base}/api/${t.projectId}/envelope/?sentry_key=${t.publicKey}`,
      { method: 'POST', headers: { 'transfer-encoding': 'chunked' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body: text }));
      },
    );
    req.on('error', reject);
    req.write(body.subarray(0, half));
    void (async () => {
      // The request is in flight (half its body is in, and this metrics request is the other) when the stop begins.
      while (!/vigil_ingest_requests_in_flight\{service="ingest"\} 2\b/.test(await (await fetch(`${t.base}/metrics`)).text())) await sleep(20);
      stopped = t.ingest.stop();
      await sleep(300);
      req.end(body.subarray(half));
    })();
  });
  let stopped: Promise<void> | null = null;

  while (stopped === null) await sleep(10);
  await assert.rejects(fetch(`${t.base}/healthz`), 'no new connections once stopping');
  const result = await answer;
  assert.equal(result.status, 200);
  assert.deepEqual(JSON.parse(result.body), { id: eventId });
  assert.equal(result.connection, 'close');
  await stopped;
  await t.inKafka([eventId]);
});
