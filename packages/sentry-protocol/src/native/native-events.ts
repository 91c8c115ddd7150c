import { z } from 'zod';
import { DEFAULT_MAX_EVENT_BYTES } from '../limits';
import { generateEventId, parseEventId } from '../event-id';
import { truncateText } from '../normalize/field-coercion';
import { ProtocolError, type ProtocolIssue } from '../outcomes/protocol-error';
import { EVENT_CLASSES, SEVERITIES, type NormalizedEvent } from '../record';
import { normalizeTags } from '../normalize/tags';
import { splitNativeRecords, type NativeFormat } from './native-framing';
import { parseNativeTimestamp, resolveTimestamp, type TimestampOptions } from '../normalize/timestamp';
import { normalizeIp } from '../normalize/user-ip';

/**
 * Vigil's native events (`POST /api/{project_id}/events/`): security, audit and network events
 * from senders that are not Sentry SDKs. Required: `class`, `severity`, `type`. Optional:
 * `message`, `timestamp` (RFC 3339 — UTC when no offset — or epoch seconds/milliseconds; the
 * receive time when absent), `attributes` (object), `event_id`, and the Sentry-like `tags`,
 * `environment`, `release`, `fingerprint`, `user`. Unknown top-level fields are rejected so a typo
 * does not silently lose data; free-form data belongs in `attributes`.
 */

const MAX_MESSAGE = 8192;

/** Parsed once, here: the output is epoch milliseconds. */
const timestampSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const ms = parseNativeTimestamp(value);
  if (ms === null) {
    ctx.addIssue({ code: 'custom', message: 'expected an RFC 3339 date-time or epoch seconds/milliseconds' });
    return z.NEVER;
  }
  return ms;
});

export const nativeEventSchema = z.strictObject({
  class: z.enum(EVENT_CLASSES),
  severity: z.enum(SEVERITIES),
  type: z.string().trim().min(1).max(200),
  message: z.string().nullable().optional(),
  timestamp: timestampSchema.optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
  event_id: z
    .string()
    .refine((value) => parseEventId(value) !== null, { error: 'expected 32 hex digits or a UUID' })
    .optional(),
  tags: z.record(z.string().min(1).max(200), z.union([z.string().max(200), z.number(), z.boolean()])).optional(),
  environment: z.string().min(1).max(64).optional(),
  release: z.string().min(1).max(200).optional(),
  fingerprint: z.array(z.string()).optional(),
  user: z
    .strictObject({
      id: z.union([z.string(), z.number()]).nullable(),
      email: z.string().nullable(),
      username: z.string().nullable(),
      ip_address: z.string().nullable(),
    })
    .partial()
    .nullable()
    .optional(),
});

export type NativeEventInput = z.input<typeof nativeEventSchema>;

export interface NativeEventsContext {
  projectId: number;
  receivedAtMs: number;
  /** Connecting IP of the request. */
  clientIp?: string | null;
}

export interface NativeEventsOptions extends TimestampOptions {
  /** `json` (object or array), `ndjson`, or `auto` (default): decided from the body. */
  format?: NativeFormat;
  /** Most records in one request. Default 1000. */
  maxRecords?: number;
  /** Largest single record in bytes. Default 1 MiB. */
  maxEventBytes?: number;
  /** Most issues listed in one error. Default 20. */
  maxIssues?: number;
}

/**
 * Validates and normalizes a native events body. Either every record is valid and all are
 * returned, or `invalid_native_event` lists the bad records by index and field path.
 */
export function parseNativeEvents(
  body: Buffer,
  ctx: NativeEventsContext,
  options: NativeEventsOptions = {},
): NormalizedEvent[] {
  const maxRecords = options.maxRecords ?? 1000;
  const maxBytes = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES;
  const maxIssues = options.maxIssues ?? 20;
  const records = splitNativeRecords(body, options.format ?? 'auto');
  if (records.length === 0) throw new ProtocolError('empty_body', 'no events in the body');
  if (records.length > maxRecords) {
    throw new ProtocolError('payload_too_large', `more than ${maxRecords} events in one request`, {
      limit: 'records',
      limitValue: maxRecords,
    });
  }

  const issues: ProtocolIssue[] = [];
  const events: NormalizedEvent[] = [];
  const clientIp = normalizeIp(ctx.clientIp ?? null);
  for (const [index, record] of records.entries()) {
    if (record.raw.length > maxBytes) {
      throw new ProtocolError('payload_too_large', `event ${index} exceeds ${maxBytes} bytes`, {
        limit: 'record',
        limitValue: maxBytes,
      });
    }
    const result = nativeEventSchema.safeParse(record.value);
    if (!result.success) {
      for (const issue of result.error.issues) {
        if (issues.length < maxIssues) issues.push(describeIssue(index, issue));
      }
      continue;
    }
    if (issues.length > 0) continue;
    const original = record.value as Record<string, unknown>;
    events.push(toRecord(result.data, original, record.raw, ctx, clientIp, options));
  }
  if (issues.length > 0) {
    const first = issues[0] as ProtocolIssue;
    const where = first.field === undefined ? `event ${first.record}` : `event ${first.record}, field ${first.field}`;
    throw new ProtocolError('invalid_native_event', `invalid native event (${where}): ${first.message}`, { issues });
  }
  return events;
}

function describeIssue(record: number, issue: z.core.$ZodIssue): ProtocolIssue {
  if (issue.code === 'unrecognized_keys') {
    const prefix = issue.path.length > 0 ? `${issue.path.join('.')}.` : '';
    const unknown = issue.keys.length > 1 ? `unknown fields ${issue.keys.join(', ')}` : 'unknown field';
    return {
      record,
      field: `${prefix}${issue.keys[0] ?? ''}`,
      message: `${unknown}; put custom data in attributes`,
    };
  }
  const field = issue.path.map(String).join('.');
  return field === '' ? { record, message: issue.message } : { record, field, message: issue.message };
}

function toRecord(
  data: z.output<typeof nativeEventSchema>,
  original: Record<string, unknown>,
  raw: Buffer,
  ctx: NativeEventsContext,
  clientIp: string | null,
  options: TimestampOptions,
): NormalizedEvent {
  const user = data.user ?? null;
  const message = data.message === undefined || data.message === null || data.message === '' ? null : data.message;
  return {
    event_id: (data.event_id === undefined ? null : parseEventId(data.event_id)) ?? generateEventId(),
    project_id: ctx.projectId,
    timestamp_ms: resolveTimestamp(data.timestamp ?? null, ctx.receivedAtMs, null, options),
    received_at_ms: ctx.receivedAtMs,
    source: 'native',
    class: data.class,
    severity: data.severity,
    type: data.type,
    message: message === null ? null : truncateText(message, MAX_MESSAGE),
    exception_type: null,
    exception_value: null,
    platform: null,
    release: data.release ?? null,
    environment: data.environment ?? null,
    tags: normalizeTags(original['tags']),
    user:
      user === null
        ? null
        : {
            id: user.id === undefined || user.id === null ? null : String(user.id),
            email: user.email ?? null,
            username: user.username ?? null,
            ip_address: normalizeIp(user.ip_address ?? null),
          },
    fingerprint: data.fingerprint ?? [],
    client_ip: clientIp,
    sdk_name: null,
    sdk_version: null,
    // The sender's own object (validated above), so keys such as "__proto__" stay plain data.
    attributes: (original['attributes'] as Record<string, unknown> | undefined) ?? {},
    raw,
  };
}
