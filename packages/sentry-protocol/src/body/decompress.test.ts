import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { parseContentEncoding, readBody, supportedContentEncodings } from './decompress';
import { ProtocolError } from '../outcomes/protocol-error';
import type { ReasonCode } from '../outcomes/outcomes';

const MiB = 1024 * 1024;
const text = Buffer.from('{"message":"hello from a compressed body"}');

async function rejects(promise: Promise<unknown>, reason: ReasonCode): Promise<ProtocolError> {
  let caught: unknown;
  await assert.rejects(promise, (e: unknown) => {
    caught = e;
    return e instanceof ProtocolError && e.reason === reason;
  });
  return caught as ProtocolError;
}

/** A request-like stream that hands out `data` in `chunk`-sized pieces and counts what was read. */
function counted(data: Buffer, chunk = 64 * 1024): { stream: Readable; pulled: () => number } {
  let offset = 0;
  const stream = new Readable({
    read() {
      if (offset >= data.length) this.push(null);
      else {
        this.push(data.subarray(offset, offset + chunk));
        offset += chunk;
      }
    },
  });
  return { stream, pulled: () => Math.min(offset, data.length) };
}

test('identity: a buffer comes back as is, a stream is collected', async () => {
  assert.equal(await readBody(text, { maxDecompressedBytes: 100 }), text);
  assert.equal(await readBody(text, { contentEncoding: 'identity', maxDecompressedBytes: 100 }), text);
  assert.deepEqual(await readBody(counted(text, 7).stream, { maxDecompressedBytes: 100 }), text);
});

test('gzip, x-gzip, deflate (zlib and raw), br and stacked codings decode from buffers and streams', async () => {
  const cases: Array<[string, Buffer]> = [
    ['gzip', zlib.gzipSync(text)],
    ['X-Gzip', zlib.gzipSync(text)],
    ['deflate', zlib.deflateSync(text)],
    ['deflate', zlib.deflateRawSync(text)],
    ['br', zlib.brotliCompressSync(text)],
    ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(text))],
    ['deflate,identity, gzip', zlib.gzipSync(zlib.deflateRawSync(text))],
  ];
  for (const [encoding, body] of cases) {
    assert.deepEqual(await readBody(body, { contentEncoding: encoding, maxDecompressedBytes: 1000 }), text, encoding);
    const stream = counted(body, 3).stream;
    assert.deepEqual(await readBody(stream, { contentEncoding: encoding, maxDecompressedBytes: 1000 }), text, encoding);
  }
});

test('zstd decodes where this Node has it, and is otherwise refused as unsupported', async () => {
  const z = zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer };
  if (typeof z.zstdCompressSync === 'function') {
    assert.ok(supportedContentEncodings().includes('zstd'));
    assert.deepEqual(await readBody(z.zstdCompressSync(text), { contentEncoding: 'zstd', maxDecompressedBytes: 1000 }), text);
  } else {
    assert.ok(!supportedContentEncodings().includes('zstd'));
    const error = await rejects(readBody(text, { contentEncoding: 'zstd', maxDecompressedBytes: 1000 }), 'unsupported_content_encoding');
    assert.equal(error.status, 415);
  }
});

test('unknown or too many codings → unsupported_content_encoding', () => {
  assert.throws(() => parseContentEncoding('compress'), (e: unknown) => e instanceof ProtocolError && e.reason === 'unsupported_content_encoding');
  assert.throws(() => parseContentEncoding('gzip, gzip, gzip, gzip'), ProtocolError);
  assert.deepEqual(parseContentEncoding(['gzip', 'br']), ['gzip', 'br']);
  assert.deepEqual(parseContentEncoding(null), []);
});

test('corrupt, truncated or empty compressed bodies → invalid_compression', async () => {
  await rejects(readBody(Buffer.from('definitely not gzip'), { contentEncoding: 'gzip', maxDecompressedBytes: 100 }), 'invalid_compression');
  await rejects(readBody(zlib.gzipSync(text).subarray(0, 20), { contentEncoding: 'gzip', maxDecompressedBytes: 100 }), 'invalid_compression');
  await rejects(readBody(Buffer.from([0xff, 0xff, 0xff]), { contentEncoding: 'deflate', maxDecompressedBytes: 100 }), 'invalid_compression');
  await rejects(readBody(Buffer.from('garbage'), { contentEncoding: 'br', maxDecompressedBytes: 100 }), 'invalid_compression');
  for (const encoding of ['gzip', 'deflate', 'br']) {
    await rejects(readBody(Buffer.alloc(0), { contentEncoding: encoding, maxDecompressedBytes: 100 }), 'invalid_compression');
  }
});

test('the compressed size bound stops reading; the stream is left to the caller', async () => {
  const body = zlib.gzipSync(Buffer.alloc(10 * MiB, 'a'));
  await rejects(readBody(body, { contentEncoding: 'gzip', maxCompressedBytes: 100, maxDecompressedBytes: MiB }), 'payload_too_large');
  const big = Buffer.alloc(MiB, 'b');
  const { stream, pulled } = counted(big, 16 * 1024);
  const error = await rejects(readBody(stream, { maxCompressedBytes: 100_000, maxDecompressedBytes: 10 * MiB }), 'payload_too_large');
  assert.deepEqual(error.details, { limit: 'compressed', limitValue: 100_000 });
  assert.equal(error.status, 413);
  assert.ok(pulled() < 300_000, `read ${pulled()} bytes`);
  assert.equal(stream.destroyed, false);
});

test('the decompressed size bound is distinguishable from the compressed one', async () => {
  const body = zlib.gzipSync(Buffer.alloc(2 * MiB));
  const error = await rejects(readBody(body, { contentEncoding: 'gzip', maxDecompressedBytes: MiB }), 'payload_too_large');
  assert.deepEqual(error.details, { limit: 'decompressed', limitValue: MiB });
  await rejects(readBody(Buffer.alloc(MiB + 1), { maxDecompressedBytes: MiB }), 'payload_too_large');
});

test('a 1 GiB gzip bomb is refused after reading a few KiB, quickly and in bounded memory', async () => {
  // Concatenated gzip members are one valid gzip stream: 1024 × 1 MiB of zeros ≈ 1 MiB on the wire.
  const member = zlib.gzipSync(Buffer.alloc(MiB), { level: 9 });
  const bomb = Buffer.concat(Array.from({ length: 1024 }, () => member));
  assert.ok(bomb.length < 2 * MiB);
  // The construction is a real gzip stream: a slice of it inflates to exactly what it claims.
  assert.equal(zlib.gunzipSync(bomb.subarray(0, member.length * 3)).length, 3 * MiB);

  const { stream, pulled } = counted(bomb);
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const error = await rejects(
    readBody(stream, { contentEncoding: 'gzip', maxCompressedBytes: 20 * MiB, maxDecompressedBytes: MiB }),
    'payload_too_large',
  );
  const elapsed = performance.now() - started;
  assert.equal(error.details.limit, 'decompressed');
  assert.ok(elapsed < 3000, `took ${elapsed.toFixed(0)} ms`);
  assert.ok(pulled() < 256 * 1024, `read ${pulled()} of ${bomb.length} compressed bytes`);
  assert.ok(process.memoryUsage().rss - rssBefore < 64 * MiB, 'memory stayed bounded');
});

test('deflate and brotli bombs are refused the same way', async () => {
  const deflated = zlib.deflateSync(Buffer.alloc(16 * MiB), { level: 1 });
  const brotli = zlib.brotliCompressSync(Buffer.alloc(64 * MiB), { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } });
  for (const [encoding, bomb] of [
    ['deflate', deflated],
    ['br', brotli],
  ] as const) {
    const started = performance.now();
    const error = await rejects(readBody(counted(bomb).stream, { contentEncoding: encoding, maxDecompressedBytes: MiB }), 'payload_too_large');
    assert.equal(error.details.limit, 'decompressed');
    assert.ok(performance.now() - started < 3000, encoding);
  }
});

test('a failing or aborted request stream → body_read_failed', async () => {
  const failing = new Readable({
    read() {
      this.destroy(new Error('socket hang up'));
    },
  });
  await rejects(readBody(failing, { maxDecompressedBytes: 100 }), 'body_read_failed');

  const stalled = new Readable({ read() {} });
  const controller = new AbortController();
  const pending = readBody(stalled, { contentEncoding: 'gzip', maxDecompressedBytes: 100, signal: controller.signal });
  controller.abort();
  await rejects(pending, 'body_read_failed');
});

test('any body round-trips through any supported coding and chunking', async () => {
  const codings = supportedContentEncodings().filter((c) => c !== 'zstd');
  const encode: Record<string, (b: Buffer) => Buffer> = {
    gzip: (b) => zlib.gzipSync(b),
    deflate: (b) => zlib.deflateSync(b),
    br: (b) => zlib.brotliCompressSync(b),
  };
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 4096 }),
      fc.constantFrom(...codings),
      fc.integer({ min: 1, max: 512 }),
      async (bytes, coding, chunk) => {
        const body = Buffer.from(bytes);
        const encoded = (encode[coding] as (b: Buffer) => Buffer)(body);
        const options = { contentEncoding: coding, maxDecompressedBytes: 4096 };
        assert.deepEqual(await readBody(counted(encoded, chunk).stream, options), body);
      },
    ),
    { numRuns: 60 },
  );
});

test('a timeout signal also ends in body_read_failed', async () => {
  const stalled = new Readable({ read() {} });
  // AbortSignal.timeout does not keep the process alive; an open socket would, in the service.
  const keepAlive = setTimeout(() => {}, 5000);
  await rejects(readBody(stalled, { maxDecompressedBytes: 100, signal: AbortSignal.timeout(20) }), 'body_read_failed');
  clearTimeout(keepAlive);
});

test('bodies past the synchronous bound are decoded off the main thread, still bounded', async () => {
  const body = Buffer.alloc(3 * MiB, 'z');
  for (const [encoding, encoded] of [
    ['gzip', zlib.gzipSync(body)],
    ['deflate', zlib.deflateRawSync(body)],
    ['br', zlib.brotliCompressSync(body)],
  ] as const) {
    assert.deepEqual(await readBody(encoded, { contentEncoding: encoding, maxDecompressedBytes: 20 * MiB }), body, encoding);
    const error = await rejects(readBody(encoded, { contentEncoding: encoding, maxDecompressedBytes: 2 * MiB }), 'payload_too_large');
    assert.equal(error.details.limit, 'decompressed');
  }
});

test('large compressed streams are decoded as they arrive', async () => {
  // Random bytes do not compress, so the compressed body is well past the one-shot size.
  const body = randomBytes(300 * 1024);
  for (const [encoding, encoded] of [
    ['gzip', zlib.gzipSync(body)],
    ['deflate', zlib.deflateSync(body)],
    ['deflate', zlib.deflateRawSync(body)],
    ['br', zlib.brotliCompressSync(body)],
  ] as const) {
    assert.ok(encoded.length > 128 * 1024, `${encoding} body is ${encoded.length} bytes`);
    const decoded = await readBody(counted(encoded, 16 * 1024).stream, { contentEncoding: encoding, maxDecompressedBytes: MiB });
    assert.deepEqual(decoded, body, encoding);
  }
});

test('uncompressed streams: bounded while collected, a request cut short is body_read_failed, the stream is left paused', async () => {
  const big = counted(Buffer.alloc(MiB, 'c'), 16 * 1024);
  const error = await rejects(readBody(big.stream, { maxDecompressedBytes: 100_000 }), 'payload_too_large');
  assert.equal(error.details.limit, 'compressed');
  assert.ok(big.pulled() < 300_000);
  assert.equal(big.stream.isPaused(), true);
  assert.equal(big.stream.destroyed, false);
  const tighter = await rejects(readBody(counted(Buffer.alloc(MiB)).stream, { maxCompressedBytes: 2 * MiB, maxDecompressedBytes: 1000 }), 'payload_too_large');
  assert.equal(tighter.details.limit, 'decompressed');

  const cut = new Readable({ read() {} });
  const pending = readBody(cut, { maxDecompressedBytes: 100 });
  cut.push(Buffer.from('{"partial":'));
  setImmediate(() => cut.destroy());
  await rejects(pending, 'body_read_failed');
});
