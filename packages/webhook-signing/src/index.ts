// @vigil/webhook-signing — the pure parts of webhook delivery: secrets, Standard Webhooks
// signatures, message ids, the retry schedule, attempt outcomes and the SSRF address policy with
// a connection path that only reaches checked addresses.
export { generateSecret, parseSecret, isValidSecret, WebhookSecretError } from './signing/secret';
export type { GenerateSecretOptions, SecretErrorCode } from './signing/secret';

export { signWebhook, verifyWebhook, DEFAULT_TOLERANCE_SECONDS } from './signing/signature';
export type { SignOptions, SignatureHeaders, VerifyOptions, VerifyResult, VerifyFailure } from './signing/signature';

export { WEBHOOK_EVENT_TYPES, serializePayload, buildWebhookHeaders } from './signing/webhook-request';
export type { WebhookEventType, WebhookPayload, WebhookRequestOptions } from './signing/webhook-request';

export { messageId } from './signing/message-id';

export { parseDuration } from './schedule/duration';
export type { Duration } from './schedule/duration';

export { createRetrySchedule, DEFAULT_RETRY_DELAYS, DEFAULT_JITTER } from './schedule/retry-schedule';
export type { RetrySchedule, RetryScheduleOptions, NextDelayOptions } from './schedule/retry-schedule';

export { ERROR_CLASSES } from './attempt/error-class';
export type { ErrorClass } from './attempt/error-class';

export {
  classifyResponse,
  classifyError,
  parseRetryAfter,
  DEFAULT_RETRY_AFTER_MIN_MS,
  DEFAULT_RETRY_AFTER_MAX_MS,
} from './attempt/outcome';
export type { AttemptOutcome, OutcomeAction, RetryAfterBounds, ClassifyResponseOptions } from './attempt/outcome';

export { createAddressPolicy } from './egress/address-policy';
export type { AddressPolicy, AddressPolicyOptions, AddressVerdict, RefusalReason } from './egress/address-policy';

export { checkDestination, createSafeLookup, DestinationRefusedError } from './egress/destination';
export type { DestinationCheck, HostResolver, SafeLookupOptions } from './egress/destination';

export { createWebhookAgents } from './egress/connection-pool';
export type { WebhookAgents, WebhookAgentOptions } from './egress/connection-pool';

export {
  postWebhook,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_TOTAL_TIMEOUT_MS,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_RESPONSE_HEADERS,
} from './attempt/post-webhook';
export type { PostWebhookOptions, WebhookAttempt } from './attempt/post-webhook';
