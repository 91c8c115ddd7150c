import type { SentryAuth } from '../auth/auth';
import type { EnvelopeHeader } from '../envelope/envelope';
import { generateEventId, parseEventId } from '../event-id';
import { field, isObject, nonEmptyText, primitiveText, truncateText } from './field-coercion';
import { ProtocolError } from '../outcomes/protocol-error';
import type { NormalizedEvent } from '../record';
import { classFromTags, severityFromLevel } from './severity';
import { normalizeTags } from './tags';
import { parseSentryTimestamp, resolveTimestamp, type TimestampOptions } from './timestamp';
import { inferIpSetting, normalizeIp, normalizeUser } from './user-ip';

/**
 * A Sentry event (envelope `event`/`transaction` item, or store body) → the `vigil.events.v1`
 * record. Field rules, where Sentry leaves room:
 *
 * - `type`: `transaction` for transaction items; the SDK's `type` when it is one of Sentry's
 *   special types (csp, nel, feedback…); otherwise `error` with exceptions, `default` without.
 * - `message`: `logentry` (`formatted`, else `message`; legacy `message` field and
 *   `sentry.interfaces.Message` alias too), else the top-most exception's value, else its type,
 *   else (transactions) the transaction name.
 * - exception: the last entry of `exception.values` (the one raised, shown on top by Sentry);
 *   a missing type is split off a `Type: value` message, as Relay does. Entries with
 *   `mechanism.synthetic: true` are skipped: SDKs attach them to `captureMessage` events only to
 *   carry a stack trace, so such an event stays a message (`default`) — where Relay would say
 *   `error`.
 * - `attributes`: `contexts` plus `transaction`, `logger`, `server_name`, `dist` and the request's
 *   `method`/`url` when present — fields without a column that detections filter on.
 * - `client_ip`: the connecting IP passed in, unless the SDK opted out (`infer_ip: "never"`).
 */

export interface SentryEventContext {
  projectId: number;
  receivedAtMs: number;
  /** Connecting IP of the request (after the service's trusted-proxy handling). */
  clientIp?: string | null;
  /** Envelope item type; `event` (the default) for store bodies. */
  itemType?: string;
  /** The envelope header, for its `event_id`, `sdk` and `sent_at`. */
  envelope?: Pick<EnvelopeHeader, 'event_id' | 'sdk' | 'sent_at_ms'> | null;
  /** The request's credential, whose `sentry_client` names the SDK when the event does not. */
  auth?: Pick<SentryAuth, 'client'> | null;
}

export interface NormalizeOptions extends TimestampOptions {
  /** Longest `message` and `exception_value` kept (longer text is cut with `...`). Default 8192. */
  maxMessageChars?: number;
}

const SPECIAL_TYPES = new Set([
  'csp',
  'hpkp',
  'expectct',
  'expectstaple',
  'nel',
  'feedback',
  'generic',
  'userreportv2',
]);
const MAX_MESSAGE = 8192;
const MAX_EXCEPTION_TYPE = 256;
const MAX_SHORT = 200;
const MAX_ENVIRONMENT = 64;
const MAX_SDK_FIELD = 128;

export function normalizeSentryEvent(
  payload: Buffer,
  ctx: SentryEventContext,
  options: NormalizeOptions = {},
): NormalizedEvent {
  const event = parseEventJson(payload);
  const maxMessage = options.maxMessageChars ?? MAX_MESSAGE;

  const exception = topException(event);
  const isTransaction = ctx.itemType === 'transaction' || event['type'] === 'transaction';
  const type = eventType(event, isTransaction, exception !== null);
  const tags = normalizeTags(event['tags']);
  const platform = shortText(event['platform'], MAX_SHORT);
  const sdk = event['sdk'];
  const inferIp = inferIpSetting(sdk);
  const connecting = normalizeIp(ctx.clientIp ?? null);
  const [sdkName, sdkVersion] = sdkIdentity(sdk, ctx);

  let message = logMessage(event) ?? exception?.value ?? exception?.type ?? null;
  if (message === null && isTransaction) message = nonEmptyText(event['transaction']);

  return {
    event_id: parseEventId(event['event_id']) ?? ctx.envelope?.event_id ?? generateEventId(),
    project_id: ctx.projectId,
    timestamp_ms: resolveTimestamp(
      parseSentryTimestamp(event['timestamp']),
      ctx.receivedAtMs,
      ctx.envelope?.sent_at_ms ?? null,
      options,
    ),
    received_at_ms: ctx.receivedAtMs,
    source: 'sentry',
    class: classFromTags(tags),
    severity: severityFromLevel(event['level'], isTransaction),
    type,
    message: cut(message, maxMessage),
    exception_type: cut(exception?.type ?? null, MAX_EXCEPTION_TYPE),
    exception_value: cut(exception?.value ?? null, maxMessage),
    platform,
    release: identifier(event['release'], MAX_SHORT, /[\n\r\t]/),
    environment: identifier(event['environment'], MAX_ENVIRONMENT, /[\n\r\t/]/),
    tags,
    user: normalizeUser(event['user'] ?? event['sentry.interfaces.User'], {
      platform,
      clientIp: connecting,
      inferIp,
      remoteAddr: field(field(event['request'], 'env'), 'REMOTE_ADDR'),
    }),
    fingerprint: fingerprint(event['fingerprint']),
    client_ip: inferIp === 'never' ? null : connecting,
    sdk_name: sdkName,
    sdk_version: sdkVersion,
    attributes: attributes(event),
    raw: payload,
  };
}

function parseEventJson(payload: Buffer): Record<string, unknown> {
  let text = payload.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError('invalid_json', 'event is not valid JSON', {}, { cause: error });
  }
  if (!isObject(value)) throw new ProtocolError('invalid_event', 'event is not a JSON object');
  return value;
}

interface TopException {
  type: string | null;
  value: string | null;
}

function topException(event: Record<string, unknown>): TopException | null {
  const container = event['exception'] ?? event['sentry.interfaces.Exception'];
  let values: unknown[];
  if (Array.isArray(container)) values = container;
  else if (isObject(container)) {
    const inner = container['values'];
    values = Array.isArray(inner) ? inner : Object.hasOwn(container, 'values') ? [] : [container];
  } else return null;

  for (let i = values.length - 1; i >= 0; i--) {
    const entry = values[i];
    if (field(field(entry, 'mechanism'), 'synthetic') === true) continue;
    let type = nonEmptyText(field(entry, 'type'));
    let value = nonEmptyText(field(entry, 'value'));
    if (type === null && value === null) continue;
    if (type === null && value !== null) {
      const split = /^([\w.$]+): ([\s\S]*)$/.exec(value);
      if (split !== null) {
        type = split[1] ?? null;
        value = split[2] ?? null;
      }
    }
    return { type, value };
  }
  return null;
}

function eventType(event: Record<string, unknown>, isTransaction: boolean, hasException: boolean): string {
  if (isTransaction) return 'transaction';
  const explicit = event['type'];
  if (typeof explicit === 'string' && SPECIAL_TYPES.has(explicit)) return explicit;
  return hasException ? 'error' : 'default';
}

function logMessage(event: Record<string, unknown>): string | null {
  for (const candidate of [event['logentry'], event['sentry.interfaces.Message'], event['message']]) {
    if (typeof candidate === 'string') {
      const text = nonEmptyText(candidate);
      if (text !== null) return text;
    } else if (isObject(candidate)) {
      const text = nonEmptyText(candidate['formatted']) ?? nonEmptyText(candidate['message']);
      if (text !== null) return text;
    }
  }
  return null;
}

function sdkIdentity(sdk: unknown, ctx: SentryEventContext): [string | null, string | null] {
  let name = shortText(field(sdk, 'name'), MAX_SDK_FIELD);
  let version = shortText(field(sdk, 'version'), MAX_SDK_FIELD);
  if (name === null) {
    name = ctx.envelope?.sdk?.name ?? null;
    version ??= ctx.envelope?.sdk?.version ?? null;
  }
  const client = ctx.auth?.client ?? null;
  if (name === null && client !== null) {
    const slash = client.lastIndexOf('/');
    name = slash > 0 ? client.slice(0, slash) : client;
    version ??= slash > 0 ? client.slice(slash + 1) || null : null;
  }
  return [cut(name, MAX_SDK_FIELD), cut(version, MAX_SDK_FIELD)];
}

function shortText(value: unknown, max: number): string | null {
  return cut(nonEmptyText(value), max);
}

function cut(text: string | null, max: number): string | null {
  return text === null ? null : truncateText(text, max);
}

/** Release and environment: invalid values are dropped rather than cut, as Relay does. */
function identifier(value: unknown, max: number, forbidden: RegExp): string | null {
  const text = nonEmptyText(value);
  if (text === null || text.length > max || forbidden.test(text)) return null;
  return text;
}

function fingerprint(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const part of value) {
    const text = primitiveText(part);
    if (text !== null) out.push(text);
  }
  return out;
}

function attributes(event: Record<string, unknown>): Record<string, unknown> {
  const entries: Array<[string, unknown]> = [];
  const contexts = event['contexts'];
  if (isObject(contexts) && Object.keys(contexts).length > 0) entries.push(['contexts', contexts]);
  for (const key of ['transaction', 'logger', 'server_name', 'dist']) {
    const text = nonEmptyText(event[key]);
    if (text !== null) entries.push([key, truncateText(text, MAX_SHORT)]);
  }
  const request = event['request'];
  if (isObject(request)) {
    const method = nonEmptyText(request['method']);
    const url = nonEmptyText(request['url']);
    if (method !== null || url !== null) entries.push(['request', { method, url }]);
  }
  return Object.fromEntries(entries);
}
