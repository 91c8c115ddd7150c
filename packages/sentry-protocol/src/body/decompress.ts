import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { ProtocolError } from '../outcomes/protocol-error';

/**
 * Reading a request body with bounds: `Content-Encoding` gzip, deflate (zlib-wrapped or raw, told
 * apart by the first two bytes as browsers do), br, and zstd where this Node has it. The bytes read
 * are counted as they arrive; the bytes produced are counted while decoding, and the moment either
 * bound is passed decoding stops and `payload_too_large` is thrown, so a zip bomb costs at most the
 * limit in memory and milliseconds of CPU.
 */

export type ContentCoding = 'gzip' | 'deflate' | 'br' | 'zstd';

type DecoderFactory = () => Transform;

/** Output chunk size: 64 KiB halves the thread-pool round trips of the 16 KiB default. */
const CHUNK_SIZE = 64 * 1024;

const zstdFactory = (zlib as unknown as { createZstdDecompress?: DecoderFactory }).createZstdDecompress;

const DECODERS: Partial<Record<ContentCoding, DecoderFactory>> = {
  gzip: () => zlib.createGunzip({ chunkSize: CHUNK_SIZE }),
  deflate: () => new AutoInflate(),
  br: () => zlib.createBrotliDecompress({ chunkSize: CHUNK_SIZE }),
  ...(typeof zstdFactory === 'function' ? { zstd: () => zstdFactory.call(zlib) } : {}),
};

/** Content codings this runtime can decode (zstd only on Node versions that ship it). */
export function supportedContentEncodings(): ContentCoding[] {
  return Object.keys(DECODERS) as ContentCoding[];
}

/** At most this many stacked codings (`Content-Encoding: gzip, br`) are undone. */
const MAX_CODINGS = 3;

/**
 * Parses a `Content-Encoding` header into the codings in the order the sender applied them,
 * without `identity`. Throws `unsupported_content_encoding` for anything else.
 */
export function parseContentEncoding(header: string | readonly string[] | null | undefined): ContentCoding[] {
  if (header === undefined || header === null) return [];
  const text = typeof header === 'string' ? header : header.join(',');
  const codings: ContentCoding[] = [];
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '' || name === 'identity') continue;
    const coding = name === 'x-gzip' ? 'gzip' : name;
    if (!Object.hasOwn(DECODERS, coding)) {
      throw new ProtocolError('unsupported_content_encoding', `unsupported content encoding ${JSON.stringify(name)}`);
    }
    codings.push(coding as ContentCoding);
  }
  if (codings.length > MAX_CODINGS) {
    throw new ProtocolError('unsupported_content_encoding', `more than ${MAX_CODINGS} stacked content encodings`);
  }
  return codings;
}

export interface ReadBodyOptions {
  /** The `Content-Encoding` header value(s). */
  contentEncoding?: string | readonly string[] | null;
  /** Bound on the bytes as received (before decompression). Default: `maxDecompressedBytes`. */
  maxCompressedBytes?: number;
  /** Bound on the body after decompression (the envelope or event size limit). */
  maxDecompressedBytes: number;
  /** Aborts reading (e.g. a request timeout); the promise rejects with `body_read_failed`. */
  signal?: AbortSignal;
}

/**
 * Compressed bodies up to this size are read whole and decoded in one call (bounded by
 * `maxOutputLength`); larger ones are decoded while they arrive, so a bomb is refused before the
 * rest of it is even read.
 */
const ONE_SHOT_MAX_BYTES = 64 * 1024;

/**
 * Reads and decodes a body from a request stream or a buffer.
 *
 * On failure a stream input is left paused and not destroyed: the caller answers (413, 400…) and
 * decides whether to drain the rest or close the connection.
 */
export async function readBody(input: Readable | Uint8Array, options: ReadBodyOptions): Promise<Buffer> {
  const codings = parseContentEncoding(options.contentEncoding);
  const maxOut = options.maxDecompressedBytes;
  const maxIn = options.maxCompressedBytes ?? maxOut;
  const abortWatch = options.signal === undefined ? null : watchAbort(options.signal);
  const abort = abortWatch?.promise ?? null;
  let reader: ChunkReader | null = null;
  try {
    if (input instanceof Uint8Array) {
      const buffer = asBuffer(input);
      if (buffer.length > maxIn) throw tooLarge('compressed', maxIn);
      return await settle(decodeWhole(buffer, codings, maxOut), abort);
    }
    if (codings.length === 0 && abort === null) return await collectPlain(input, maxIn, maxOut);
    reader = new ChunkReader(input, maxIn, abort);
    const head: Buffer[] = [];
    let headBytes = 0;
    for (;;) {
      const chunk = await reader.next();
      if (chunk === null) return await settle(decodeWhole(concat(head, headBytes), codings, maxOut), abort);
      head.push(chunk);
      headBytes += chunk.length;
      if (codings.length === 0 && headBytes > maxOut) throw tooLarge('decompressed', maxOut);
      if (codings.length > 0 && headBytes > ONE_SHOT_MAX_BYTES) break;
    }
    return await settle(decodeStreaming(head, reader, codings, maxOut, options.signal), abort);
  } catch (error) {
    if (error instanceof ProtocolError) throw error;
    if (options.signal?.aborted === true || isAbort(error)) {
      throw new ProtocolError('body_read_failed', 'reading the body was aborted', {}, { cause: error });
    }
    throw new ProtocolError('invalid_compression', `invalid ${codings.join(', ')} body`, {}, { cause: error });
  } finally {
    reader?.release();
    abortWatch?.dispose();
  }
}

/**
 * An uncompressed body without an abort signal — nearly every request — is collected from `data`
 * events: one promise per body instead of one per chunk through an async iterator, which is
 * measurable at tens of thousands of requests per second. Same bounds and errors; on failure the
 * stream is left paused, as in the general path.
 */
function collectPlain(input: Readable, maxIn: number, maxOut: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => new PlainBody(input, maxIn, maxOut, resolve, reject));
}

/**
 * The listeners of `collectPlain`, as methods bound once per body: closures declared per request
 * would each be named at run time when the service runs from TypeScript sources (the loader keeps
 * function names), which costs more than the bind.
 */
class PlainBody {
  private readonly chunks: Buffer[] = [];
  private total = 0;
  private readonly onData: (chunk: Buffer | string) => void;
  private readonly onEnd: () => void;
  private readonly onError: (error: Error) => void;
  private readonly onClose: () => void;

  constructor(
    private readonly input: Readable,
    private readonly maxIn: number,
    private readonly maxOut: number,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (error: ProtocolError) => void,
  ) {
    this.onData = this.data.bind(this);
    this.onEnd = this.stop.bind(this, null);
    this.onError = this.error.bind(this);
    this.onClose = this.close.bind(this);
    input.on('data', this.onData).once('end', this.onEnd).once('error', this.onError).once('close', this.onClose);
  }

  private data(chunk: Buffer | string): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.total += bytes.length;
    if (this.total > this.maxIn) this.stop(tooLarge('compressed', this.maxIn));
    else if (this.total > this.maxOut) this.stop(tooLarge('decompressed', this.maxOut));
    else this.chunks.push(bytes);
  }

  private error(error: Error): void {
    this.stop(new ProtocolError('body_read_failed', undefined, {}, { cause: error }));
  }

  private close(): void {
    if (!this.input.readableEnded) this.stop(new ProtocolError('body_read_failed', 'the request ended before its body'));
  }

  private stop(error: ProtocolError | null): void {
    this.input.off('data', this.onData).off('end', this.onEnd).off('error', this.onError).off('close', this.onClose);
    if (error === null) {
      this.resolve(concat(this.chunks, this.total));
      return;
    }
    this.input.pause();
    this.reject(error);
  }
}

/** Pulls chunks from a stream, enforcing the compressed-size bound and honouring the abort. */
class ChunkReader {
  private readonly iterator: AsyncIterator<Buffer | string>;
  private total = 0;

  constructor(
    input: Readable,
    private readonly maxIn: number,
    private readonly abort: Promise<never> | null,
  ) {
    this.iterator = input.iterator({ destroyOnReturn: false });
  }

  async next(): Promise<Buffer | null> {
    let result: IteratorResult<Buffer | string>;
    try {
      result = await settle(this.iterator.next(), this.abort);
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new ProtocolError('body_read_failed', undefined, {}, { cause: error });
    }
    if (result.done === true) return null;
    const chunk = typeof result.value === 'string' ? Buffer.from(result.value) : result.value;
    this.total += chunk.length;
    if (this.total > this.maxIn) throw tooLarge('compressed', this.maxIn);
    return chunk;
  }

  /** Stops listening to the stream without destroying it. */
  release(): void {
    this.iterator.return?.().catch(() => {});
  }
}

type AsyncDecode = (buffer: Buffer, options: zlib.ZlibOptions) => Promise<Buffer>;

interface OneShot {
  sync: (buffer: Buffer, options: zlib.ZlibOptions) => Buffer;
  async: AsyncDecode;
}

const inflateAsync = promisify(zlib.inflate);
const inflateRawAsync = promisify(zlib.inflateRaw);
const zstd = zlib as unknown as {
  zstdDecompressSync?: (buffer: Buffer, options: object) => Buffer;
  zstdDecompress?: (buffer: Buffer, options: object, callback: (error: Error | null, result: Buffer) => void) => void;
};

const ONE_SHOT: Partial<Record<ContentCoding, OneShot>> = {
  gzip: { sync: zlib.gunzipSync, async: promisify(zlib.gunzip) },
  br: {
    sync: zlib.brotliDecompressSync,
    async: promisify(zlib.brotliDecompress) as AsyncDecode,
  },
  deflate: {
    sync: (buffer, options) =>
      isZlibHeader(buffer) ? zlib.inflateSync(buffer, options) : zlib.inflateRawSync(buffer, options),
    async: (buffer, options) =>
      isZlibHeader(buffer) ? inflateAsync(buffer, options) : inflateRawAsync(buffer, options),
  },
  ...(typeof zstd.zstdDecompressSync === 'function' && typeof zstd.zstdDecompress === 'function'
    ? {
        zstd: {
          sync: zstd.zstdDecompressSync.bind(zlib),
          async: promisify(zstd.zstdDecompress.bind(zlib)) as AsyncDecode,
        },
      }
    : {}),
};

/**
 * Small outputs are decoded synchronously (a few microseconds, against a thread-pool round trip of
 * a few hundred); the synchronous attempt stops at this many bytes, so it blocks the event loop for
 * at most about a millisecond, and a larger body is decoded again off the main thread.
 */
const SYNC_MAX_OUTPUT = 1024 * 1024;

async function decodeWhole(buffer: Buffer, codings: readonly ContentCoding[], maxOut: number): Promise<Buffer> {
  let out = buffer;
  for (let i = codings.length - 1; i >= 0; i--) {
    const decoder = ONE_SHOT[codings[i] as ContentCoding];
    if (decoder === undefined) throw new ProtocolError('unsupported_content_encoding');
    const syncMax = Math.min(maxOut, SYNC_MAX_OUTPUT);
    try {
      out = decoder.sync(out, { maxOutputLength: syncMax, chunkSize: CHUNK_SIZE });
      continue;
    } catch (error) {
      if (!isOutputTooLarge(error)) throw error;
      if (syncMax === maxOut) throw tooLarge('decompressed', maxOut);
    }
    try {
      out = await decoder.async(out, { maxOutputLength: maxOut, chunkSize: CHUNK_SIZE });
    } catch (error) {
      throw isOutputTooLarge(error) ? tooLarge('decompressed', maxOut) : error;
    }
  }
  if (out.length > maxOut) throw tooLarge('decompressed', maxOut);
  return out;
}

function isOutputTooLarge(error: unknown): boolean {
  return error instanceof RangeError && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
}

async function decodeStreaming(
  head: Buffer[],
  reader: ChunkReader,
  codings: readonly ContentCoding[],
  maxOut: number,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  async function* source(): AsyncGenerator<Buffer> {
    yield* head.splice(0);
    for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) yield chunk;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  const collect = async (decoded: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of decoded) {
      total += chunk.length;
      if (total > maxOut) throw tooLarge('decompressed', maxOut);
      chunks.push(chunk);
    }
  };
  const decoders = codings
    .slice()
    .reverse()
    .map((coding) => (DECODERS[coding] as DecoderFactory)());
  try {
    await pipeline(source, ...(decoders as [Transform]), collect, signal === undefined ? {} : { signal });
  } finally {
    for (const decoder of decoders) decoder.destroy();
  }
  return concat(chunks, total);
}

/** Resolves with `promise`, unless the abort settles first. */
function settle<T>(promise: Promise<T>, abort: Promise<never> | null): Promise<T> {
  return abort === null ? promise : Promise.race([promise, abort]);
}

/** A promise that rejects when the signal aborts, and a way to stop listening. */
function watchAbort(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let listener: (() => void) | null = null;
  const promise = new Promise<never>((_, reject) => {
    const fail = (): void =>
      reject(signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
    if (signal.aborted) fail();
    else {
      listener = fail;
      signal.addEventListener('abort', fail, { once: true });
    }
  });
  promise.catch(() => {});
  return {
    promise,
    dispose: () => {
      if (listener !== null) signal.removeEventListener('abort', listener);
    },
  };
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

function concat(chunks: Buffer[], total: number): Buffer {
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

function tooLarge(limit: 'compressed' | 'decompressed', limitValue: number): ProtocolError {
  const what = limit === 'compressed' ? 'request body' : 'decompressed body';
  return new ProtocolError('payload_too_large', `${what} exceeds ${limitValue} bytes`, { limit, limitValue });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** Zlib-wrapped deflate starts with CMF/FLG: method 8, window ≤ 32 KiB, header checksum. */
function isZlibHeader(head: Buffer): boolean {
  const cmf = head[0] ?? 0;
  const flg = head[1] ?? 0;
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

/**
 * `Content-Encoding: deflate` means zlib-wrapped deflate (RFC 9110), but some clients send raw
 * deflate. This picks the right inflater from the first two bytes and forwards its output with
 * backpressure.
 */
class AutoInflate extends Transform {
  private inner: zlib.Inflate | zlib.InflateRaw | null = null;
  private head: Buffer[] = [];
  private headLength = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inner !== null) {
      this.forward(chunk, callback);
      return;
    }
    this.head.push(chunk);
    this.headLength += chunk.length;
    if (this.headLength < 2) {
      callback();
      return;
    }
    this.forward(this.start().bytes, callback);
  }

  override _flush(callback: TransformCallback): void {
    let inner = this.inner;
    if (inner === null) {
      if (this.headLength === 0) {
        callback(new Error('unexpected end of file'));
        return;
      }
      const head = this.start();
      inner = head.inner;
      inner.write(head.bytes);
    }
    inner.once('end', () => callback());
    inner.end();
  }

  override _read(size: number): void {
    this.inner?.resume();
    super._read(size);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner?.destroy();
    callback(error);
  }

  private start(): { inner: zlib.Inflate | zlib.InflateRaw; bytes: Buffer } {
    const bytes = Buffer.concat(this.head, this.headLength);
    this.head = [];
    const inner = this.createInner(bytes);
    this.inner = inner;
    return { inner, bytes };
  }

  private createInner(head: Buffer): zlib.Inflate | zlib.InflateRaw {
    const options = { chunkSize: CHUNK_SIZE };
    const inner = isZlibHeader(head) ? zlib.createInflate(options) : zlib.createInflateRaw(options);
    inner.on('data', (data: Buffer) => {
      if (!this.push(data)) inner.pause();
    });
    inner.on('error', (error) => this.destroy(error));
    return inner;
  }

  private forward(chunk: Buffer, callback: TransformCallback): void {
    if ((this.inner as zlib.Inflate).write(chunk)) callback();
    else (this.inner as zlib.Inflate).once('drain', () => callback());
  }
}
