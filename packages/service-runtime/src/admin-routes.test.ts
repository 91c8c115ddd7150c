import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Counter, createMetrics, startAdminServer } from './index';

test('healthz, readyz and metrics', async () => {
  const metrics = createMetrics('example');
  const dropped = new Counter({ name: 'vigil_items_dropped_total', help: 'dropped items', labelNames: ['reason'], registers: [metrics] });
  dropped.inc({ reason: 'invalid_json' }, 3);
  let kafkaUp = true;
  const server = await startAdminServer(
    { host: '127.0.0.1', port: 0 },
    { metrics, readiness: { kafka: async () => kafkaUp, postgres: () => new Promise(() => undefined) }, checkTimeoutMs: 200 },
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });

    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503, 'a hanging check counts as failed');
    assert.deepEqual(await notReady.json(), { status: 'not_ready', checks: { kafka: true, postgres: false } });

    kafkaUp = false;
    const body = (await (await fetch(`${base}/readyz`)).json()) as { checks: Record<string, boolean> };
    assert.equal(body.checks.kafka, false);

    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /vigil_items_dropped_total\{reason="invalid_json",service="example"\} 3/);
    assert.match(text, /process_cpu_user_seconds_total/);

    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    server.close();
  }
});
