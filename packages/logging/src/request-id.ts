import { randomBytes } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `req_` followed by 20 base62 characters (about 119 bits). */
export function newRequestId(): string {
  const bytes = randomBytes(20);
  let out = 'req_';
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
}
