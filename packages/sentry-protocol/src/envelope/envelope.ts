import { parseEventId } from '../event-id';
import { DEFAULT_MAX_ENVELOPE_BYTES, DEFAULT_MAX_EVENT_BYTES } from '../limits';
import { itemCategory, isKnownItemType, type DataCategory } from '../outcomes/outcomes';
import { ProtocolError } from '../outcomes/protocol-error';

/**
 * Sentry envelopes, parsed with Relay's rules:
 *
 *   <header JSON>\n
 *   <item header JSON>\n<payload>\n      (repeated)
 *
 * An item header has `type` and optionally `length`. With `length`, exactly that many bytes follow
 * and then a `\n` or the end of input; without it the payload runs to the next `\n` or the end.
 * Blank lines between items and at the end are tolerated. Payloads are `subarray`s of the input:
 * nothing is copied.
 */

export interface EnvelopeSdk {
  name: string | null;
  version: string | null;
}

export interface EnvelopeHeader {
  /** Normalized to 32 lowercase hex; null when absent. */
  event_id: string | null;
  dsn: string | null;
  sdk: EnvelopeSdk | null;
  /** As sent (RFC 3339). */
  sent_at: string | null;
  /** `sent_at` as epoch milliseconds, used for clock drift correction. */
  sent_at_ms: number | null;
  /** The whole parsed header, including fields not listed above. */
  fields: Record<string, unknown>;
}

export interface EnvelopeItem {
  type: string;
  category: DataCategory;
  /** False for item types Sentry does not define; the service skips and counts them. */
  known: boolean;
  /** The parsed item header (`type`, `length`, `content_type`, `filename`…). */
  headers: Record<string, unknown>;
  /** The payload bytes: a view into the envelope buffer. */
  payload: Buffer;
}

export interface Envelope {
  header: EnvelopeHeader;
  items: EnvelopeItem[];
}

export interface EnvelopeLimits {
  /** Whole envelope (after decompression). Default 20 MiB. */
  maxEnvelopeBytes?: number;
  /** Event-like items (`event`, `transaction`, security reports, feedback…). Default 1 MiB. */
  maxEventBytes?: number;
  /** Any other item. Default: the envelope limit. */
  maxItemBytes?: number;
  /** Per item type overrides, e.g. `{ attachment: 5 * 1024 * 1024 }`. */
  itemLimits?: Readonly<Record<string, number>>;
}


/** Items whose payload is (or becomes) one event; bounded by `maxEventBytes`, as in Relay. */
const EVENT_LIKE = new Set([
  'event',
  'transaction',
  'security',
  'raw_security',
  'nel',
  'user_report',
  'feedback',
  'form_data',
  'replay_event',
]);

const NEWLINE = 0x0a;

export function parseEnvelope(body: Buffer, limits: EnvelopeLimits = {}): Envelope {
  const maxEnvelope = limits.maxEnvelopeBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
  if (body.length > maxEnvelope) {
    throw new ProtocolError('payload_too_large', `envelope exceeds ${maxEnvelope} bytes`, {
      limit: 'envelope',
      limitValue: maxEnvelope,
    });
  }
  let offset = skipBlank(body, 0);
  if (offset >= body.length) throw new ProtocolError('empty_body', 'empty envelope');

  const headerEnd = lineEnd(body, offset);
  const header = parseHeader(parseJsonLine(body, offset, headerEnd, 'envelope header'));
  offset = headerEnd + 1;

  const items: EnvelopeItem[] = [];
  for (;;) {
    offset = skipBlank(body, offset);
    if (offset >= body.length) break;
    const index = items.length;
    const itemHeaderEnd = lineEnd(body, offset);
    const headers = parseJsonLine(body, offset, itemHeaderEnd, `item ${index} header`);
    const type = headers['type'];
    if (typeof type !== 'string' || type === '') {
      throw new ProtocolError('invalid_envelope', `item ${index} header has no type`);
    }
    const limit = itemLimit(type, limits, maxEnvelope);
    const start = Math.min(itemHeaderEnd + 1, body.length);
    let end: number;
    const length = headers['length'];
    if (length !== undefined && length !== null) {
      if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) {
        throw new ProtocolError('invalid_envelope', `item ${index} has an invalid length`);
      }
      if (length > limit) throw tooLarge(type, index, limit);
      end = start + length;
      if (end > body.length) {
        throw new ProtocolError('invalid_envelope', `item ${index} (${type}): unexpected end of envelope`);
      }
      if (end < body.length && body[end] !== NEWLINE) {
        throw new ProtocolError('invalid_envelope', `item ${index} (${type}): missing newline after payload`);
      }
    } else {
      const nl = body.indexOf(NEWLINE, start);
      end = nl < 0 ? body.length : nl;
      if (end - start > limit) throw tooLarge(type, index, limit);
    }
    items.push({
      type,
      category: itemCategory(type),
      known: isKnownItemType(type),
      headers,
      payload: body.subarray(start, end),
    });
    offset = end + 1;
  }
  return { header, items };
}

function itemLimit(type: string, limits: EnvelopeLimits, maxEnvelope: number): number {
  const override = limits.itemLimits?.[type];
  if (override !== undefined) return override;
  if (EVENT_LIKE.has(type)) return limits.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  return limits.maxItemBytes ?? maxEnvelope;
}

function tooLarge(type: string, index: number, limit: number): ProtocolError {
  return new ProtocolError('payload_too_large', `item ${index} (${type}) exceeds ${limit} bytes`, {
    limit: 'item',
    limitValue: limit,
    itemType: type,
  });
}

/** Skips blank lines (`\n`, `\r\n`) and spaces between items. */
function skipBlank(body: Buffer, offset: number): number {
  while (offset < body.length) {
    const c = body[offset];
    if (c !== 0x0a && c !== 0x0d && c !== 0x20 && c !== 0x09) break;
    offset++;
  }
  return offset;
}

function lineEnd(body: Buffer, offset: number): number {
  const nl = body.indexOf(NEWLINE, offset);
  return nl < 0 ? body.length : nl;
}

function parseJsonLine(body: Buffer, start: number, end: number, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8', start, end));
  } catch (error) {
    throw new ProtocolError('invalid_envelope', `invalid ${what}`, {}, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProtocolError('invalid_envelope', `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function parseHeader(fields: Record<string, unknown>): EnvelopeHeader {
  const rawId = fields['event_id'];
  let eventId: string | null = null;
  if (rawId !== undefined && rawId !== null) {
    eventId = parseEventId(rawId);
    if (eventId === null) throw new ProtocolError('invalid_envelope', 'invalid envelope header: bad event_id');
  }

  const dsn = fields['dsn'];
  if (dsn !== undefined && dsn !== null && typeof dsn !== 'string') {
    throw new ProtocolError('invalid_envelope', 'invalid envelope header: dsn is not a string');
  }

  const sentAt = fields['sent_at'];
  let sentAtMs: number | null = null;
  if (sentAt !== undefined && sentAt !== null) {
    sentAtMs = typeof sentAt === 'string' ? Date.parse(sentAt) : Number.NaN;
    if (!Number.isFinite(sentAtMs)) throw new ProtocolError('invalid_envelope', 'invalid envelope header: bad sent_at');
  }

  const sdk = fields['sdk'];
  let envelopeSdk: EnvelopeSdk | null = null;
  if (typeof sdk === 'object' && sdk !== null && !Array.isArray(sdk)) {
    const { name, version } = sdk as Record<string, unknown>;
    envelopeSdk = {
      name: typeof name === 'string' ? name : null,
      version: typeof version === 'string' ? version : null,
    };
  }

  return {
    event_id: eventId,
    dsn: typeof dsn === 'string' ? dsn : null,
    sdk: envelopeSdk,
    sent_at: typeof sentAt === 'string' ? sentAt : null,
    sent_at_ms: sentAtMs,
    fields,
  };
}

export interface SerializableItem {
  headers: Record<string, unknown> & { type: string };
  payload: Uint8Array | string;
  /** Write `length` into the item header (default true). */
  withLength?: boolean;
}

/**
 * Writes an envelope (what SDKs send). Used to build test and benchmark traffic; items written
 * without `length` must not contain a newline.
 */
export function serializeEnvelope(header: Record<string, unknown>, items: readonly SerializableItem[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`${JSON.stringify(header)}\n`)];
  for (const item of items) {
    const payload = typeof item.payload === 'string' ? Buffer.from(item.payload) : Buffer.from(item.payload);
    const headers = item.withLength === false ? item.headers : { ...item.headers, length: payload.length };
    parts.push(Buffer.from(`${JSON.stringify(headers)}\n`), payload, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}
