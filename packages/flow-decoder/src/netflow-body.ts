/**
 * The `application/x-netflow` HTTP body: NetFlow v5/v9 (or IPFIX) datagrams, each prefixed by its
 * length as a 2-byte big-endian integer. Returns views into the body, never copies.
 */

export type NetflowBodyError = 'zero_length' | 'truncated' | 'too_many_datagrams';

export interface NetflowBody {
  datagrams: Buffer[];
  /** Why parsing stopped early; datagrams before the fault are still returned. */
  error: NetflowBodyError | null;
  /** Offset of the fault in the body (equal to its length when there is none). */
  offset: number;
}

export function parseNetflowBody(body: Uint8Array, options: { maxDatagrams?: number } = {}): NetflowBody {
  const max = options.maxDatagrams ?? 100_000;
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const datagrams: Buffer[] = [];
  let i = 0;
  while (i < buf.length) {
    if (buf.length - i < 2) return { datagrams, error: 'truncated', offset: i };
    const length = buf.readUInt16BE(i);
    if (length === 0) return { datagrams, error: 'zero_length', offset: i };
    if (buf.length - i - 2 < length) return { datagrams, error: 'truncated', offset: i };
    if (datagrams.length >= max) return { datagrams, error: 'too_many_datagrams', offset: i };
    datagrams.push(buf.subarray(i + 2, i + 2 + length));
    i += 2 + length;
  }
  return { datagrams, error: null, offset: i };
}

/** The inverse: frames datagrams as an `application/x-netflow` body. */
export function encodeNetflowBody(datagrams: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const d of datagrams) {
    if (d.length === 0 || d.length > 0xffff) throw new RangeError(`datagram length ${d.length} cannot be framed`);
    total += 2 + d.length;
  }
  const out = Buffer.allocUnsafe(total);
  let i = 0;
  for (const d of datagrams) {
    out.writeUInt16BE(d.length, i);
    out.set(d, i + 2);
    i += 2 + d.length;
  }
  return out;
}
