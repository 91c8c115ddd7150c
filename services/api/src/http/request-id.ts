import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const ID_BYTES = 20;
const POOL_BYTES = ID_BYTES * 256;

/**
 * Request ids as `@vigil/logging`'s newRequestId writes them (`req_` and 20 base62 characters), drawn
 * from a pool of random bytes refilled once every 256 ids: one call into the CSPRNG per id cost
 * more than the rest of the id.
 */
export function requestIdSource(): () => string {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let at = POOL_BYTES;
  return () => {
    if (at === POOL_BYTES) {
      randomFillSync(pool);
      at = 0;
    }
    let out = 'req_';
    for (let i = 0; i < ID_BYTES; i++) out += ALPHABET[pool[at + i]! % 62];
    at += ID_BYTES;
    return out;
  };
}
