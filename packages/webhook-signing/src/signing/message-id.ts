import { createHash } from 'node:crypto';

/**
 * Message ids are derived, not random: the same alert event sent to the same endpoint always
 * gets the same `msg_…` id. Retries, a replayed Kafka record and a manual redelivery therefore
 * share one `webhook-id`, which is the receiver's idempotency key, and the delivery queue can use
 * it as a job id so a replay does not enqueue a second send.
 *
 * The id is `msg_` + 32 lowercase base32 characters (160 bits of SHA-256 over a length-prefixed
 * encoding of both inputs, so no two input pairs share a pre-image). The alphabet has no `:`,
 * `.` or space, so the id is safe as a header value, a BullMQ job id and a Redis key part.
 */
export const MESSAGE_ID_PREFIX = 'msg_';
const DOMAIN = 'vigil.webhook.message-id.v1';
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function messageId(alertEventId: string, endpointId: string): string {
  if (alertEventId.length === 0 || endpointId.length === 0) {
    throw new TypeError('alert event id and endpoint id must be non-empty');
  }
  const hash = createHash('sha256');
  for (const part of [DOMAIN, alertEventId, endpointId]) {
    const bytes = Buffer.from(part, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return MESSAGE_ID_PREFIX + base32(hash.digest().subarray(0, 20));
}

function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(buffer >>> bits) & 31];
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31];
  return out;
}
