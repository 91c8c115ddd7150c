import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { ProtocolError } from '../outcomes/protocol-error';

/**
 * Reading a request body with bounds: `Content-Encoding` gzip, deflate (zlib-wrapped or raw, told
 * apart by the first two bytes as browsers do), br, and zstd where this Node has it. Both the bytes
 * read and the bytes produced are counted while streaming; the moment either bound is passed the
 * pipeline is torn down and `payload_too_large` is thrown, so a zip bomb costs at most the limit in
 * memory and a few milliseconds of CPU.
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
 * Reads and decodes a body from a request stream or a buffer.
 *
 * On failure a stream input is left paused and not destroyed: the caller answers (413, 400…) and
 * decides whether to drain the rest or close the connection.
 */
export async function readBody(input: Readable | Uint8Array, options: ReadBodyOptions): Promise<Buffer> {
  const codings = parseContentEncoding(options.contentEncoding);
  const maxOut = options.maxDecompressedBytes;
  const maxIn = options.maxCompressedBytes ?? maxOut;

  if (input instanceof Uint8Array) {
    const buffer = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (buffer.length > maxIn) throw tooLarge('compressed', maxIn);
    if (codings.length === 0) {
      if (buffer.length > maxOut) throw tooLarge('decompressed', maxOut);
      return buffer;
    }
  }

  const chunks: Buffer[] = [];
  let total = 0;
  const collect = async (source: AsyncIterable<Buffer>): Promise<void> => {
    for await (const chunk of source) {
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
    const source = readSource(input, maxIn);
    const signal = options.signal === undefined ? {} : { signal: options.signal };
    const done =
      decoders.length === 0
        ? pipeline(source, collect, signal)
        : pipeline(source, ...(decoders as [Transform]), collect, signal);
    // A source waiting on a silent stream does not notice the abort, so the abort itself settles.
    await (options.signal === undefined ? done : Promise.race([done, aborted(options.signal)]));
  } catch (error) {
    for (const decoder of decoders) decoder.destroy();
    if (error instanceof ProtocolError) throw error;
    if (options.signal?.aborted === true || isAbort(error)) {
      throw new ProtocolError('body_read_failed', 'reading the body was aborted', {}, { cause: error });
    }
    throw new ProtocolError('invalid_compression', `invalid ${codings.join(', ')} body`, {}, { cause: error });
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}

async function* readSource(input: Readable | Uint8Array, maxIn: number): AsyncGenerator<Buffer> {
  if (input instanceof Uint8Array) {
    yield Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    return;
  }
  let total = 0;
  const iterator: AsyncIterable<Buffer | string> = {
    [Symbol.asyncIterator]: () => input.iterator({ destroyOnReturn: false }),
  };
  try {
    for await (const raw of iterator) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      total += chunk.length;
      if (total > maxIn) throw tooLarge('compressed', maxIn);
      yield chunk;
    }
  } catch (error) {
    if (error instanceof ProtocolError || isAbort(error)) throw error;
    throw new ProtocolError('body_read_failed', undefined, {}, { cause: error });
  }
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const fail = (): void => reject(signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
    if (signal.aborted) fail();
    else signal.addEventListener('abort', fail, { once: true });
  });
}

function tooLarge(limit: 'compressed' | 'decompressed', limitValue: number): ProtocolError {
  const what = limit === 'compressed' ? 'request body' : 'decompressed body';
  return new ProtocolError('payload_too_large', `${what} exceeds ${limitValue} bytes`, { limit, limitValue });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
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
