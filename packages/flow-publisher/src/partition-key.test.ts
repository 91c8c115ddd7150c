import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { FlowKeyCache, flowKeyText, murmur2, partitionForKey } from './partition-key';

const meta = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 1, replicas: [1], isr: [1], partitionErrorCode: 0 }));

it('places every key on the partition the Java client and kafkajs choose', () => {
  const reference = Partitioners.DefaultPartitioner();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 64 }), (bytes, n) => {
      const key = Buffer.from(bytes);
      const want = reference({ topic: 't', partitionMetadata: meta(n), message: { key, value: null } });
      assert.equal(partitionForKey(Buffer.from(bytes), n), want);
    }),
    { numRuns: 5000 },
  );
  // Kafka's own test vectors (org.apache.kafka.common.utils.UtilsTest#testMurmur2).
  assert.equal(murmur2(Buffer.from('21')), -973932308);
  assert.equal(murmur2(Buffer.from('foobar')), -790332482);
  assert.equal(murmur2(Buffer.from('a-little-bit-long-string')), -985981536);
  assert.equal(murmur2(Buffer.from('a-little-bit-longer-string')), -1486304829);
  assert.equal(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
  assert.equal(murmur2(Buffer.from('abc')), 479470107);
});

it('keys flows by project and source address, reusing key buffers', () => {
  const cache = new FlowKeyCache(2);
  assert.equal(flowKeyText(7, '2001:db8::1'), '7/2001:db8::1');
  const a = cache.get(7, '192.0.2.1');
  assert.equal(a.toString(), '7/192.0.2.1');
  assert.equal(cache.get(7, '192.0.2.1'), a, 'same buffer for the same source');
  cache.get(8, '192.0.2.1');
  cache.get(9, '192.0.2.1');
  assert.equal(cache.get(7, '192.0.2.1').toString(), '7/192.0.2.1', 'correct after the bound forced a reset');
});
