import { randomBytes as cryptoRandomBytes } from 'node:crypto';

/**
 * Endpoint secrets: `whsec_` followed by the standard base64 of 24–64 random bytes. This is the
 * format Standard Webhooks and Svix libraries accept, so a receiver can paste the secret into
 * either verifier unchanged.
 */
export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;
export const DEFAULT_SECRET_BYTES = 32;

export type SecretErrorCode = 'secret_prefix' | 'secret_encoding' | 'secret_length';

export class WebhookSecretError extends Error {
  override readonly name = 'WebhookSecretError';
  constructor(
    readonly code: SecretErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface GenerateSecretOptions {
  /** Number of random bytes, 24–64. Default 32. */
  byteLength?: number;
  /** Source of randomness; defaults to node:crypto. Injected only by tests. */
  randomBytes?: (size: number) => Uint8Array;
}

export function generateSecret(options: GenerateSecretOptions = {}): string {
  const byteLength = options.byteLength ?? DEFAULT_SECRET_BYTES;
  if (!Number.isInteger(byteLength) || byteLength < MIN_SECRET_BYTES || byteLength > MAX_SECRET_BYTES) {
    throw new RangeError(`secret length must be an integer from ${MIN_SECRET_BYTES} to ${MAX_SECRET_BYTES} bytes`);
  }
  const bytes = (options.randomBytes ?? cryptoRandomBytes)(byteLength);
  if (bytes.length !== byteLength) throw new RangeError('random source returned the wrong number of bytes');
  return SECRET_PREFIX + Buffer.from(bytes).toString('base64');
}

// Standard base64 alphabet, padding optional (a pasted secret may have lost its `=`).
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Decodes a `whsec_…` secret into its HMAC key, or throws a WebhookSecretError saying why not. */
export function parseSecret(secret: string): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) {
    throw new WebhookSecretError('secret_prefix', `webhook secret must start with "${SECRET_PREFIX}"`);
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  const unpadded = encoded.replace(/=+$/, '');
  // A length of 1 mod 4 cannot come from any byte string; padding, when present, must be exact.
  const padded = unpadded.length % 4 === 1 ? null : unpadded.padEnd(Math.ceil(unpadded.length / 4) * 4, '=');
  if (!BASE64.test(encoded) || padded === null || (encoded !== unpadded && encoded !== padded)) {
    throw new WebhookSecretError('secret_encoding', 'webhook secret is not valid base64 after the prefix');
  }
  const key = Buffer.from(padded, 'base64');
  // Reject non-canonical encodings (stray low bits in the last character) so that a secret has
  // exactly one spelling.
  if (key.toString('base64') !== padded) {
    throw new WebhookSecretError('secret_encoding', 'webhook secret is not canonical base64');
  }
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
    throw new WebhookSecretError(
      'secret_length',
      `webhook secret must encode ${MIN_SECRET_BYTES}–${MAX_SECRET_BYTES} bytes, got ${key.length}`,
    );
  }
  return key;
}

export function isValidSecret(secret: string): boolean {
  try {
    parseSecret(secret);
    return true;
  } catch {
    return false;
  }
}
