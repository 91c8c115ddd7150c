import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { mergeByTime } from './group-router';
import { isAfter, partitionFor, readRouted, repartitionKey, routedHeaders } from './repartition-message';

test('a key lands on the partition Kafka’s default partitioner gives it', () => {
  const partitioner = Partitioners.DefaultPartitioner();
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.integer({ min: 1, max: 64 }), (key, n) => {
      const partitionMetadata = Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 }));
      const expected = partitioner({ topic: 't', partitionMetadata, message: { key, value: null } });
      assert.equal(partitionFor(key, n), expected);
    }),
    { numRuns: 2000 },
  );
});

test('records of one group share a key whichever rules group them; other groups get other keys', () => {
  assert.equal(repartitionKey(42, '["203.0.113.9"]'), repartitionKey(42, '["203.0.113.9"]'));
  assert.notEqual(repartitionKey(42, '["203.0.113.9"]'), repartitionKey(43, '["203.0.113.9"]'));
  assert.notEqual(repartitionKey(42, '["203.0.113.9"]'), repartitionKey(42, '["203.0.113.10"]'));
});

test('headers round-trip, and anything else is refused', () => {
  const headers = routedHeaders('flows', 7, ['default.p3.port-scan', 'default.p3.host-sweep'], 4, '1234', 2);
  const asConsumed = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(String(v))]));
  assert.deepEqual(readRouted(asConsumed), {
    source: 'flows',
    organizationId: 7,
    ruleIds: ['default.p3.port-scan', 'default.p3.host-sweep'],
    origin: { stream: 'flows:4', offset: 1234, index: 2 },
  });
  assert.equal(readRouted(undefined), null);
  assert.equal(readRouted({ ...asConsumed, 'vigil-source': Buffer.from('logs') }), null);
  assert.equal(readRouted({ ...asConsumed, 'vigil-origin': Buffer.from('4:x:0') }), null);
  assert.equal(readRouted({ ...asConsumed, 'vigil-organization': Buffer.from('0') }), null);
  assert.equal(readRouted({ ...asConsumed, 'vigil-rules': Buffer.from('') }), null);
});

test('origins order by offset, then by message index', () => {
  assert.ok(isAfter({ offset: 11, index: 0 }, { offset: 10, index: 3 }));
  assert.ok(isAfter({ offset: 10, index: 1 }, { offset: 10, index: 0 }));
  assert.ok(!isAfter({ offset: 10, index: 0 }, { offset: 10, index: 0 }));
  assert.ok(!isAfter({ offset: 9, index: 5 }, { offset: 10, index: 0 }));
});

test('merging partitions by event time keeps each partition in offset order and loses nothing', () => {
  const partition = fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 30 });
  fc.assert(
    fc.property(fc.array(partition, { maxLength: 8 }), (times) => {
      const lists = times.map((ts, p) => ts.map((time, offset) => ({ time, p, offset })));
      const merged = mergeByTime(lists);
      assert.equal(merged.length, times.flat().length);
      for (let p = 0; p < lists.length; p++) {
        assert.deepEqual(merged.filter((r) => r.p === p).map((r) => r.offset), lists[p]!.map((r) => r.offset));
      }
      // When each partition is in time order, the merge is in time order.
      const sortedLists = times.map((ts, p) => [...ts].sort((a, b) => a - b).map((time, offset) => ({ time, p, offset })));
      const sortedMerge = mergeByTime(sortedLists).map((r) => r.time);
      assert.deepEqual(sortedMerge, [...sortedMerge].sort((a, b) => a - b));
    }),
  );
});
