import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { mergeByTime } from './group-router';
import { PACK_BYTES, PackWriter, isAfter, partitionFor, readPacked, readRouted, repartitionKey, routedHeaders, type RoutedEntry } from './repartition-message';

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

const entryArb = (records: Buffer[]): fc.Arbitrary<RoutedEntry> =>
  fc.record({
    source: fc.constantFrom('events' as const, 'flows' as const),
    organizationId: fc.integer({ min: 1, max: 2 ** 40 }),
    ruleIds: fc.array(fc.constantFrom('brute', 'default.p3.port-scan', 'r-ü', 'x'.repeat(128)), { minLength: 1, maxLength: 3 }),
    inputPartition: fc.integer({ min: 0, max: 1000 }),
    offset: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    index: fc.integer({ min: 0, max: 50 }),
    record: fc.constantFrom(...records),
  });

/** Every entry of the messages, in order, as the detection stage reads them. */
function unpack(messages: readonly Buffer[]) {
  return messages.flatMap((m) => {
    const packed = readPacked(m);
    assert.ok(packed !== null, 'a packed message reads back');
    return packed.entries.map((e) => ({
      source: e.source,
      organizationId: e.organizationId,
      ruleIds: packed.ruleLists[e.list],
      inputPartition: Number(e.origin.stream.split(':')[1]),
      stream: e.origin.stream,
      offset: e.origin.offset,
      index: e.origin.index,
      record: packed.records[e.record],
    }));
  });
}

test('packed entries read back in order with their rules, origin and record bytes', () => {
  const records = [Buffer.from([0, 0, 0, 0, 1, 42]), Buffer.from('a record'), Buffer.alloc(0), Buffer.alloc(3000, 7)];
  fc.assert(
    fc.property(fc.array(entryArb(records), { maxLength: 60 }), (entries) => {
      const w = new PackWriter();
      for (const e of entries) w.add(e);
      w.flush();
      assert.equal(w.count, entries.length);
      assert.equal(w.messages.length, entries.length === 0 ? 0 : 1);
      assert.deepEqual(unpack(w.messages), entries.map((e) => ({ ...e, ruleIds: [...e.ruleIds], stream: `${e.source}:${e.inputPartition}` })));
    }),
  );
});

test('a partition-round larger than a message is split in order; a record larger than a message travels alone', () => {
  const big = Buffer.alloc(PACK_BYTES + 10, 1);
  const small = Array.from({ length: 400 }, (_, i) => Buffer.alloc(1000, i));
  const entries: RoutedEntry[] = [...small.slice(0, 200), big, ...small.slice(200)].map((record, i) => ({ source: 'events', organizationId: 1, ruleIds: ['r'], inputPartition: 0, offset: i, index: 0, record }));
  const w = new PackWriter();
  for (const e of entries) w.add(e);
  w.flush();
  assert.ok(w.messages.length >= 3);
  assert.ok(w.messages.every((m) => m.length <= PACK_BYTES + 64 || (readPacked(m)?.entries.length ?? 0) === 1), 'only a lone oversized record exceeds the size');
  assert.deepEqual(unpack(w.messages).map((e) => e.offset), entries.map((e) => e.offset));
  assert.ok(unpack(w.messages).every((e, i) => e.record!.equals(entries[i]!.record)));
});

test('anything that is not a whole packed message is refused', () => {
  const w = new PackWriter();
  w.add({ source: 'flows', organizationId: 7, ruleIds: ['a', 'b'], inputPartition: 3, offset: 99, index: 1, record: Buffer.from('rec') });
  w.flush();
  const [m] = w.messages as [Buffer];
  assert.ok(readPacked(m) !== null);
  for (let cut = 0; cut < m.length; cut++) assert.equal(readPacked(m.subarray(0, cut)), null, `cut at ${cut}`);
  assert.equal(readPacked(Buffer.concat([m, Buffer.from([0])])), null, 'trailing bytes');
  const otherVersion = Buffer.from(m);
  otherVersion[1] = 9;
  assert.equal(readPacked(otherVersion), null);
  const badSource = Buffer.from(m);
  badSource[m.length - 33] = 5;
  assert.equal(readPacked(badSource), null);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    readPacked(Buffer.from([0xfe, 1, ...bytes])); // never throws
  }));
});
