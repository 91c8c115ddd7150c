/**
 * @vigil/sentry-protocol — the Sentry ingestion protocol as Relay speaks it, without I/O:
 * DSNs, request authentication, envelopes, store bodies, bounded decompression, normalization
 * into `vigil.events.v1` records, native events, and the outcome catalogue.
 */

export { parseDsn, formatDsn, parseProjectId, type Dsn } from './dsn';
export { extractAuth, PROTOCOL_VERSION, type AuthRequest, type AuthSource, type SentryAuth } from './auth';
export {
  parseEnvelope,
  serializeEnvelope,
  DEFAULT_MAX_ENVELOPE_BYTES,
  DEFAULT_MAX_EVENT_BYTES,
  type Envelope,
  type EnvelopeHeader,
  type EnvelopeItem,
  type EnvelopeLimits,
  type EnvelopeSdk,
  type SerializableItem,
} from './envelope';
export { decodeStoreBody, type StoreBodyOptions } from './store-body';
export {
  readBody,
  parseContentEncoding,
  supportedContentEncodings,
  type ContentCoding,
  type ReadBodyOptions,
} from './decompress';
export { normalizeSentryEvent, type NormalizeOptions, type SentryEventContext } from './normalize';
export {
  parseNativeEvents,
  nativeEventSchema,
  type NativeEventInput,
  type NativeEventsContext,
  type NativeEventsOptions,
} from './native-events';
export type { NativeFormat } from './native-framing';
export type { TimestampOptions } from './timestamp';
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
} from './outcomes';
export {
  ProtocolError,
  isProtocolError,
  type ProtocolErrorBody,
  type ProtocolErrorDetails,
  type ProtocolIssue,
} from './protocol-error';
export {
  EVENT_CLASSES,
  SEVERITIES,
  type EventClass,
  type EventSource,
  type EventUser,
  type NormalizedEvent,
  type Severity,
} from './record';
