import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { f, ipfix, rec } from '../scripts/datagram-builder';
import { createIpfixStreamFramer, splitIpfixMessages } from './index';

const m1 = ipfix.message({ sequence: 1 }, [ipfix.templateSet([{ id: 256, fields: [f(8, 4), f(12, 4)] }])]);
const m2 = ipfix.message({ sequence: 2 }, [ipfix.dataSet(256, [rec().ipv4('1.1.1.1').ipv4('2.2.2.2').build()])]);
const m3 = ipfix.message({ sequence: 3 }, []);
const stream = Buffer.concat([m1, m2, m3]);

function feed(chunks: Uint8Array[], onGarbage: 'resync' | 'reject' = 'resync') {
  const framer = createIpfixStreamFramer({ onGarbage });
  const messages: Buffer[] = [];
  let skipped = 0;
  let error: string | null = null;
  for (const c of chunks) {
    const out = framer.push(c);
    messages.push(...out.messages);
    skipped += out.skippedBytes;
    error ??= out.error;
  }
  return { messages, skipped, error, truncated: framer.end().truncatedBytes, framer };
}

describe('IPFIX stream framer', () => {
  it('splits a stream into messages at any chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: stream.length }), { maxLength: 20 }), (cuts) => {
        const points = [...new Set(cuts)].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of points) {
          chunks.push(stream.subarray(prev, p));
          prev = p;
        }
        chunks.push(stream.subarray(prev));
        const out = feed(chunks);
        assert.deepEqual(out.messages, [m1, m2, m3]);
        assert.deepEqual([out.skipped, out.truncated, out.error], [0, 0, null]);
      }),
      { numRuns: 500 },
    );
  });

  it('holds at most one partial message and reports it as truncated at the end', () => {
    const { messages, truncated } = feed([stream.subarray(0, m1.length + 5)]);
    assert.deepEqual(messages, [m1]);
    assert.equal(truncated, 5);
  });

  it('copies input, so the caller may reuse its buffers', () => {
    const framer = createIpfixStreamFramer();
    const chunk = Buffer.from(m2);
    const out = framer.push(chunk);
    chunk.fill(0);
    assert.deepEqual(out.messages, [m2]);
  });

  it('resynchronises after garbage by skipping to the next plausible header', () => {
    const garbage = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x0a, 0x00, 0x03, 0x01]);
    const out = feed([Buffer.concat([m1, garbage, m2, m3])]);
    assert.deepEqual(out.messages, [m1, m2, m3]);
    assert.equal(out.skipped, garbage.length);
  });

  it('rejects the stream on garbage when asked to (RFC 7011: close the connection)', () => {
    const out = feed([m1, Buffer.from([1, 2, 3, 4, 5]), m2], 'reject');
    assert.deepEqual(out.messages, [m1]);
    assert.equal(out.error, 'garbage');
  });

  it('copies a message trickled in one byte at a time only a bounded number of times', () => {
    const big = ipfix.message({}, [ipfix.dataSet(256, [Buffer.alloc(60_000)])]);
    const framer = createIpfixStreamFramer();
    const started = performance.now();
    let got = 0;
    for (let i = 0; i < big.length; i++) got += framer.push(big.subarray(i, i + 1)).messages.length;
    assert.equal(got, 1);
    assert.ok(framer.buffered === 0);
    // A quadratic framer would copy ~1.8 GB here.
    assert.ok(performance.now() - started < 2000);
  });
});

describe('splitIpfixMessages', () => {
  it('splits a complete body into views', () => {
    const out = splitIpfixMessages(stream);
    assert.deepEqual(out.messages, [m1, m2, m3]);
    assert.equal(out.messages[1]!.buffer, stream.buffer);
    assert.deepEqual([out.truncatedBytes, out.error], [0, null]);
  });

  it('reports a truncated last message and garbage', () => {
    assert.equal(splitIpfixMessages(stream.subarray(0, stream.length - 3)).truncatedBytes, m3.length - 3);
    assert.equal(splitIpfixMessages(Buffer.concat([m1, Buffer.from([9, 9, 9, 9])])).error, 'garbage');
    const resync = splitIpfixMessages(Buffer.concat([m1, Buffer.from([9, 9, 9, 9]), m2]), { onGarbage: 'resync' });
    assert.deepEqual([resync.messages.length, resync.skippedBytes], [2, 4]);
  });
});
