/**
 * The normalized event: the value of one `vigil.events.v1` record (Avro, snake_case field names).
 * Both Sentry SDK events and native JSON events end up in this shape.
 */

export const EVENT_CLASSES = ['security', 'network', 'audit', 'error'] as const;
export type EventClass = (typeof EVENT_CLASSES)[number];

export const SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export type EventSource = 'sentry' | 'native';

export interface EventUser {
  id: string | null;
  email: string | null;
  username: string | null;
  ip_address: string | null;
}

export interface NormalizedEvent {
  /** 32 lowercase hex characters. */
  event_id: string;
  project_id: number;
  /** When the event happened (integer epoch milliseconds). */
  timestamp_ms: number;
  /** When Vigil received the request carrying it (integer epoch milliseconds). */
  received_at_ms: number;
  source: EventSource;
  class: EventClass;
  severity: Severity;
  /** Sentry event type (`error`, `default`, `transaction`, `csp`…) or the native sender's `type`. */
  type: string;
  message: string | null;
  exception_type: string | null;
  exception_value: string | null;
  platform: string | null;
  release: string | null;
  environment: string | null;
  tags: Record<string, string>;
  user: EventUser | null;
  fingerprint: string[];
  /** Address of the peer that sent the request (after the service's proxy handling). */
  client_ip: string | null;
  sdk_name: string | null;
  sdk_version: string | null;
  /** Native: the sender's attributes. Sentry: contexts and a few top-level fields without a column. */
  attributes: Record<string, unknown>;
  /** The event exactly as the sender sent it (JSON bytes). */
  raw: Buffer;
}

export function isEventClass(value: unknown): value is EventClass {
  return typeof value === 'string' && (EVENT_CLASSES as readonly string[]).includes(value);
}
