/**
 * The baseline of the Kafka benchmarks (kafka.ts, profile.ts): a consumer group member of its own
 * that only decodes the events topic's messages — Confluent Avro through the registry, as every
 * consumer must — and does nothing else.
 */
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { runConsumer } from '@vigil/kafka';
import { silentLogger } from '@vigil/testkit';
import type { Harness } from '../../services/rules/src/testing/harness';

/** Reads `events` events from the start; resolves with the milliseconds from its first batch to the last event. */
export async function decodeOnly(h: Harness, events: number): Promise<number> {
  let seen = 0;
  let first = 0;
  let done!: (ms: number) => void;
  const finished = new Promise<number>((r) => (done = r));
  const runner = await runConsumer({
    kafka: h.kafka,
    groupId: `${h.topicPrefix}bench.baseline.${randomBytes(3).toString('hex')}`,
    topics: [h.codecs.events.topic],
    logger: silentLogger(),
    partitionsConsumedConcurrently: 64,
    async handleBatch(batch) {
      if (first === 0) first = performance.now();
      for (const m of batch.messages) await h.codecs.events.decode(m.value!);
      seen += batch.messages.length;
      if (seen >= events) done(performance.now() - first);
    },
  });
  const ms = await finished;
  await runner.stop();
  return ms;
}
