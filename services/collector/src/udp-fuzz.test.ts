/**
 * Hostile input at the running service: mutated and truncated real datagrams (every version, options,
 * withdrawals, enterprise and variable-length fields) from a registered exporter, over many source
 * ports, through the UDP listener. The service must stay up and responsive, never hit an internal
 * decoder error, keep its pending data within the configured bounds, publish every flow it decoded,
 * and still decode a clean export exactly afterwards. (The million-datagram soak is
 * bench/collector/fuzz.ts; this is its smaller, per-commit sibling through the real socket.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { parseNetflowBody } from '@vigil/flow-decoder';
import { mutate, seedDatagrams, type Mutation } from '@vigil/flow-decoder/testing';
import { startTestCollector, type TestCollector } from './testing/test-collector';

const seeds = seedDatagrams();
const mutation: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('flip', 'set16', 'truncate', 'append', 'duplicate', 'zero'),
  at: fc.nat(),
  value: fc.nat(),
});
const mutated = fc
  .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }))
  .map(([i, ms]) => mutate(seeds[i]!, ms))
  .filter((d) => d.length > 0 && d.length <= 65_507);

let c: TestCollector;
before(async () => {
  c = await startTestCollector();
  const project = await c.project('fuzz');
  await c.register(project, '127.0.0.20/30');
});
after(async () => {
  await c.stop();
});

it('survives mutated datagrams at the UDP socket with bounded state, then decodes a clean export exactly', async () => {
  let sent = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(mutated, { minLength: 1, maxLength: 20 }), fc.nat({ max: 15 }), async (datagrams, port) => {
      await c.sendUdp(datagrams, '127.0.0.21', 31_000 + port);
      sent += datagrams.length;
    }),
    { numRuns: 250 },
  );
  // Everything sent has been read once the service answers a request after it.
  const deadline = Date.now() + 20_000;
  while ((await c.metric('vigil_collector_datagrams_received_total', { transport: 'udp' })) < sent && Date.now() < deadline) await sleep(100);
  assert.equal(await c.metric('vigil_collector_datagrams_received_total', { transport: 'udp' }), sent, 'no datagram lost at the socket');
  assert.equal((await fetch(`http://127.0.0.1:${c.collector.adminPort}/healthz`)).status, 200);
  assert.equal(await c.metric('vigil_collector_decoder_drops_total', { reason: 'internal_error' }), 0);
  assert.equal(await c.metric('vigil_collector_flows_dropped_total', { reason: 'queue_full' }), 0);
  assert.equal(await c.metric('vigil_collector_flows_dropped_total', { reason: 'kafka_error' }), 0);
  // Pending data stays within the decoder's bounds (256 KiB per exporter, 16 MiB in all).
  assert.ok((await c.metric('vigil_collector_pending_bytes', { transport: 'udp' })) <= 16 * 256 * 1024);
  for (let i = 0; i < 100 && (await c.collector.publisher.pending) > 0; i++) await sleep(50);
  // Every decoded flow was published, except those with counters or times beyond 2^53 (counted).
  assert.equal(
    (await c.metric('vigil_collector_flows_published_total')) + (await c.metric('vigil_collector_flows_dropped_total', { reason: 'out_of_range' })),
    await c.metric('vigil_collector_flows_decoded_total'),
  );

  const clean = parseNetflowBody(readFileSync(new URL('../../../packages/flow-decoder/fixtures/softflowd-ipfix.netflow', import.meta.url))).datagrams;
  await c.sendUdp(clean, '127.0.0.22', 31_999);
  const got = await c.waitForFlows(109, (x) => x.record.exporter === '127.0.0.22');
  await sleep(300);
  assert.equal(c.flows.filter((x) => x.record.exporter === '127.0.0.22').length, 109);
  assert.ok(got.every((x) => x.record.version === 10 && x.record.sampling_rate === 1));
});
