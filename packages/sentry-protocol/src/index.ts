/**
 * @vigil/sentry-protocol — the Sentry ingestion protocol as Relay speaks it, without I/O:
 * DSNs, request authentication, envelopes, store bodies, bounded decompression, normalization
 * into `vigil.events.v1` records, native events, and the outcome catalogue.
 */

export { parseDsn, formatDsn, parseProjectId, type Dsn } from './auth/dsn';
export { checkEnvelopeDsn, extractAuth, PROTOCOL_VERSION, type AuthRequest, type AuthSource, type SentryAuth } from './auth/auth';
export {
  parseEnvelope,
  serializeEnvelope,
  type Envelope,
  type EnvelopeHeader,
  type EnvelopeItem,
  type EnvelopeLimits,
  type EnvelopeSdk,
  type SerializableItem,
} from './envelope/envelope';
export { DEFAULT_MAX_ENVELOPE_BYTES, DEFAULT_MAX_EVENT_BYTES } from './limits';
export { decodeStoreBody, type StoreBodyOptions } from './body/store-body';
export {
  readBody,
  parseContentEncoding,
  supportedContentEncodings,
  type ContentCoding,
  type ReadBodyOptions,
} from './body/decompress';
export { normalizeSentryEvent, type NormalizeOptions, type SentryEventContext } from './normalize/normalize';
export {
  parseNativeEvents,
  nativeEventSchema,
  type NativeEventInput,
  type NativeEventsContext,
  type NativeEventsOptions,
} from './native/native-events';
export type { NativeFormat } from './native/native-framing';
export type { TimestampOptions } from './normalize/timestamp';
export {
  OUTCOMES,
  REASONS,
  CATEGORIES,
  EVENT_ITEM_TYPES,
  itemCategory,
  isKnownItemType,
  isReasonCode,
  type Outcome,
  type ReasonCode,
  type ReasonSpec,
  type DataCategory,
} from './outcomes/outcomes';
export { formatRateLimitHeader, retryAfterSeconds, type RateLimit, type RateLimitScope } from './outcomes/rate-limits';
export {
  ProtocolError,
  isProtocolError,
  type ProtocolErrorBody,
  type ProtocolErrorDetails,
  type ProtocolIssue,
} from './outcomes/protocol-error';
export {
  EVENT_CLASSES,
  SEVERITIES,
  type EventClass,
  type EventSource,
  type EventUser,
  type NormalizedEvent,
  type Severity,
} from './record';
