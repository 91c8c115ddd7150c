import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The scopes of CONTRACT.md §6. */
export const SCOPES = [
  'org:read',
  'project:read',
  'project:write',
  'project:admin',
  'event:read',
  'rules:read',
  'rules:write',
  'alerts:read',
  'alerts:write',
  'webhooks:read',
  'webhooks:write',
] as const;
export type Scope = (typeof SCOPES)[number];

export const TOKEN_PREFIX = 'vgl_';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 32 random bytes are 256 bits; 43 base62 characters carry 256.0 bits. */
const SECRET_LENGTH = 43;

/** Base62 encoding of a big-endian byte string, left-padded to `length`. */
function base62(bytes: Buffer, length: number): string {
  let n = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  while (n > 0n) {
    out = BASE62[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out.padStart(length, '0');
}

/** `vgl_` followed by 43 base62 characters of 32 random bytes. */
export function generateToken(): string {
  return TOKEN_PREFIX + base62(randomBytes(32), SECRET_LENGTH);
}

export function isWellFormedToken(token: string): boolean {
  return token.length === TOKEN_PREFIX.length + SECRET_LENGTH && token.startsWith(TOKEN_PREFIX) && /^[0-9A-Za-z]+$/.test(token.slice(4));
}

/** SHA-256 of the whole token: what is stored and looked up. Tokens have full entropy, so no slow hash is needed. */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** The first characters shown in listings so a person can tell tokens apart (`vgl_AbCd1234`). */
export function tokenPrefix(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 8);
}

export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A DSN public key: 32 lowercase hex characters, as Sentry uses. */
export function generatePublicKey(): string {
  return randomBytes(16).toString('hex');
}
