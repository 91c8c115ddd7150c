import zlib from 'node:zlib';
import { DEFAULT_MAX_EVENT_BYTES } from '../limits';
import { ProtocolError } from '../outcomes/protocol-error';

/**
 * Bodies of `POST /api/{project_id}/store/`, as Relay decodes them: plain JSON (starts with `{`),
 * otherwise base64 of either JSON or zlib-deflated JSON — what raven-python and other old SDKs
 * send. Returns the JSON bytes of the event (a view of the input when it was plain JSON).
 */
export interface StoreBodyOptions {
  /** Bound on the decoded JSON. Default 1 MiB, the event limit. */
  maxEventBytes?: number;
}

const OPEN_BRACE = 0x7b;
const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

export function decodeStoreBody(body: Buffer, options: StoreBodyOptions = {}): Buffer {
  const maxBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const trimmed = trimAscii(body);
  if (trimmed.length === 0) throw new ProtocolError('empty_body');
  if (trimmed[0] === OPEN_BRACE) return checkSize(trimmed, maxBytes);

  const text = trimmed.toString('latin1').replace(/\s+/g, '');
  if (!BASE64.test(text)) throw new ProtocolError('invalid_base64');
  const binary = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  if (binary.length === 0) throw new ProtocolError('invalid_base64');
  if (binary[0] === OPEN_BRACE) return checkSize(binary, maxBytes);

  try {
    return zlib.inflateSync(binary, { maxOutputLength: maxBytes });
  } catch (error) {
    if (isTooLarge(error)) {
      throw new ProtocolError('payload_too_large', `decompressed event exceeds ${maxBytes} bytes`, {
        limit: 'decompressed',
        limitValue: maxBytes,
      });
    }
    const message = 'store body is neither JSON nor zlib-compressed JSON';
    throw new ProtocolError('invalid_compression', message, {}, { cause: error });
  }
}

function checkSize(json: Buffer, maxBytes: number): Buffer {
  if (json.length > maxBytes) {
    throw new ProtocolError('payload_too_large', `event exceeds ${maxBytes} bytes`, {
      limit: 'item',
      limitValue: maxBytes,
    });
  }
  return json;
}

function isTooLarge(error: unknown): boolean {
  return error instanceof RangeError && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
}

function trimAscii(body: Buffer): Buffer {
  let start = 0;
  let end = body.length;
  while (start < end && isSpace(body[start])) start++;
  while (end > start && isSpace(body[end - 1])) end--;
  return start === 0 && end === body.length ? body : body.subarray(start, end);
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
