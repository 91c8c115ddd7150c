/**
 * Splits a byte stream (IPFIX over TCP, RFC 7011 §10.4, or an `application/ipfix` HTTP body) into
 * IPFIX messages using the 16-bit length in each message header. At most one partial message is held
 * (≤ 65,535 bytes). Garbage — a header that is not version 10 or whose length is below 16 — is either
 * skipped until the next plausible header (`resync`) or ends the stream (`reject`; RFC 7011 says a
 * collector should close such a TCP connection).
 */

const HEADER = 16;
const VERSION = 10;

export type GarbagePolicy = 'resync' | 'reject';

export interface FramerOptions {
  onGarbage?: GarbagePolicy;
  /** Messages shorter than this are garbage (default 16; a message with no sets is legal). */
  minMessageLength?: number;
}

export interface FramerOutput {
  messages: Buffer[];
  /** Bytes skipped while resynchronising, in this push. */
  skippedBytes: number;
  /** Set once the stream was rejected; all later input is ignored. */
  error: 'garbage' | null;
}

export interface IpfixStreamFramer {
  push(chunk: Uint8Array): FramerOutput;
  /** Bytes of an incomplete message held at the end of the stream so far. */
  readonly buffered: number;
  /** Call at end of stream: a non-zero value is a truncated final message. */
  end(): { truncatedBytes: number };
}

/**
 * A plausible message start at `i`: version 10, length at least the minimum and, when the first set
 * header is available, a set id that is a template, options template or data set and a set length
 * that fits the message. Used only to find the next message after garbage.
 */
function plausible(buf: Buffer, i: number, minLength: number): boolean {
  if (buf.readUInt16BE(i) !== VERSION) return false;
  const length = buf.readUInt16BE(i + 2);
  if (length < minLength) return false;
  if (i + HEADER + 4 > buf.length || length < HEADER + 4) return true;
  const setId = buf.readUInt16BE(i + HEADER);
  const setLength = buf.readUInt16BE(i + HEADER + 2);
  return (setId === 2 || setId === 3 || setId >= 256) && setLength >= 4 && setLength <= length - HEADER;
}

export function createIpfixStreamFramer(options: FramerOptions = {}): IpfixStreamFramer {
  const policy = options.onGarbage ?? 'resync';
  const minLength = Math.max(HEADER, options.minMessageLength ?? HEADER);
  // Input not yet framed. Pieces are joined only once `need` bytes are there, so a message trickled
  // in byte by byte is copied once, not once per byte.
  let pieces: Buffer[] = [];
  let held = 0;
  let need = 4;
  let failed = false;

  return {
    push(chunk) {
      const out: FramerOutput = { messages: [], skippedBytes: 0, error: failed ? 'garbage' : null };
      if (failed || chunk.length === 0) return out;
      // Copy: the caller may reuse the chunk's memory after push returns.
      pieces.push(Buffer.from(chunk));
      held += chunk.length;
      if (held < need) return out;
      const buf = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, held);
      let i = 0;
      need = 4;
      while (buf.length - i >= 4) {
        const version = buf.readUInt16BE(i);
        const length = buf.readUInt16BE(i + 2);
        if (version !== VERSION || length < minLength) {
          if (policy === 'reject') {
            failed = true;
            out.error = 'garbage';
            pieces = [];
            held = 0;
            return out;
          }
          // Resynchronise: the next offset that looks like a message header.
          let j = i + 1;
          while (j + 4 <= buf.length && !plausible(buf, j, minLength)) j++;
          out.skippedBytes += j - i;
          i = j;
          continue;
        }
        if (buf.length - i < length) {
          need = length;
          break;
        }
        out.messages.push(buf.subarray(i, i + length));
        i += length;
      }
      pieces = i >= buf.length ? [] : [buf.subarray(i)];
      held = buf.length - i;
      return out;
    },
    get buffered() {
      return held;
    },
    end() {
      const truncatedBytes = held;
      pieces = [];
      held = 0;
      need = 4;
      return { truncatedBytes };
    },
  };
}

export interface SplitResult {
  messages: Buffer[];
  skippedBytes: number;
  truncatedBytes: number;
  error: 'garbage' | null;
}

/** Splits a complete `application/ipfix` body (views into `body`, no copies). */
export function splitIpfixMessages(body: Uint8Array, options: FramerOptions = {}): SplitResult {
  const policy = options.onGarbage ?? 'reject';
  const minLength = Math.max(HEADER, options.minMessageLength ?? HEADER);
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const messages: Buffer[] = [];
  let skippedBytes = 0;
  let i = 0;
  while (buf.length - i >= 4) {
    const length = buf.readUInt16BE(i + 2);
    if (buf.readUInt16BE(i) !== VERSION || length < minLength) {
      if (policy === 'reject') return { messages, skippedBytes, truncatedBytes: 0, error: 'garbage' };
      let j = i + 1;
      while (j + 4 <= buf.length && !plausible(buf, j, minLength)) j++;
      skippedBytes += j - i;
      i = j;
      continue;
    }
    if (buf.length - i < length) break;
    messages.push(buf.subarray(i, i + length));
    i += length;
  }
  return { messages, skippedBytes, truncatedBytes: buf.length - i, error: null };
}
