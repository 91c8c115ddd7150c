import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseSecret } from './secret';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): the signed content is
 * `{webhook-id}.{webhook-timestamp}.{body}` and each signature is `v1,<base64 HMAC-SHA256>`.
 * While a secret is being rotated, one signature per secret is sent, space-separated, so a
 * receiver holding either the old or the new secret accepts the message.
 */
export type SignatureHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export interface SignOptions {
  /** The message id (`msg_…`); the same on every retry of one message. */
  id: string;
  /** The exact bytes that will be sent as the request body. */
  body: string | Uint8Array;
  /** `whsec_…` secrets to sign with: the current one first, then any still in their grace period. */
  secrets: readonly string[];
  /** Signing time; defaults to now. Each attempt is signed afresh so receivers' tolerance holds. */
  timestamp?: Date;
}

const SIGNATURE_VERSION = 'v1';
// Printable ASCII without space: safe inside a header and unambiguous in the signed content.
const MESSAGE_ID = /^[\x21-\x7e]{1,255}$/;

export function signWebhook(options: SignOptions): SignatureHeaders {
  if (!MESSAGE_ID.test(options.id)) {
    throw new TypeError('webhook id must be 1–255 printable ASCII characters without spaces');
  }
  if (options.secrets.length === 0) throw new TypeError('at least one secret is required to sign');
  const timestamp = unixSeconds(options.timestamp ?? new Date());
  const signatures: string[] = [];
  for (const secret of options.secrets) {
    const signature = `${SIGNATURE_VERSION},${hmac(parseSecret(secret), options.id, timestamp, options.body).toString('base64')}`;
    if (!signatures.includes(signature)) signatures.push(signature);
  }
  return {
    'webhook-id': options.id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatures.join(' '),
  };
}

export type VerifyFailure =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'no_matching_signature';

export type VerifyResult = { ok: true; id: string; timestamp: number } | { ok: false; reason: VerifyFailure };

export interface VerifyOptions {
  /** Request headers as received (names in any case; Node's IncomingHttpHeaders fits). */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The raw request body, exactly as received. */
  body: string | Uint8Array;
  /** Secrets the receiver accepts (during rotation, old and new); a malformed one throws WebhookSecretError. */
  secrets: readonly string[];
  /** Maximum clock difference, in seconds, in either direction. Default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** Current time; injected by tests. */
  now?: () => Date;
}

export const DEFAULT_TOLERANCE_SECONDS = 5 * 60;

/**
 * Verifies a delivery the way a receiver should: required headers, timestamp within tolerance
 * (replay protection), and at least one `v1` signature equal, in constant time, to one computed
 * with an accepted secret.
 */
export function verifyWebhook(options: VerifyOptions): VerifyResult {
  const id = header(options.headers, 'webhook-id');
  const timestampHeader = header(options.headers, 'webhook-timestamp');
  const signatureHeader = header(options.headers, 'webhook-signature');
  if (!id || !timestampHeader || !signatureHeader) return { ok: false, reason: 'missing_headers' };
  if (!/^\d{1,12}$/.test(timestampHeader)) return { ok: false, reason: 'invalid_timestamp' };
  const timestamp = Number(timestampHeader);
  const now = unixSeconds(options.now?.() ?? new Date());
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (now - timestamp > tolerance) return { ok: false, reason: 'timestamp_too_old' };
  if (timestamp - now > tolerance) return { ok: false, reason: 'timestamp_too_new' };

  const presented: Buffer[] = [];
  for (const entry of signatureHeader.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== SIGNATURE_VERSION) continue;
    presented.push(Buffer.from(entry.slice(comma + 1), 'base64'));
  }
  for (const secret of options.secrets) {
    const expected = hmac(parseSecret(secret), id, timestamp, options.body);
    for (const candidate of presented) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
        return { ok: true, id, timestamp };
      }
    }
  }
  return { ok: false, reason: 'no_matching_signature' };
}

function hmac(key: Buffer, id: string, timestamp: number, body: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

function unixSeconds(date: Date): number {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid timestamp');
  return Math.floor(ms / 1000);
}

function header(headers: VerifyOptions['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return typeof value === 'string' ? value : value?.[0];
  }
  return undefined;
}
