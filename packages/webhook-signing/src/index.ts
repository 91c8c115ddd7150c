// @vigil/webhook-signing — the pure parts of webhook delivery: secrets, Standard Webhooks
// signatures, message ids, the retry schedule, attempt outcomes and the SSRF address policy with
// a connection path that only reaches checked addresses.
export { generateSecret, parseSecret, isValidSecret, WebhookSecretError } from './secret';
export type { GenerateSecretOptions, SecretErrorCode } from './secret';

export { signWebhook, verifyWebhook, DEFAULT_TOLERANCE_SECONDS } from './signature';
export type { SignOptions, SignatureHeaders, VerifyOptions, VerifyResult, VerifyFailure } from './signature';

export { WEBHOOK_EVENT_TYPES, serializePayload, buildWebhookHeaders } from './webhook-request';
export type { WebhookEventType, WebhookPayload, WebhookRequestOptions } from './webhook-request';

export { messageId } from './message-id';

export { parseDuration } from './duration';
export type { Duration } from './duration';

export { createRetrySchedule, DEFAULT_RETRY_DELAYS, DEFAULT_JITTER } from './retry-schedule';
export type { RetrySchedule, RetryScheduleOptions, NextDelayOptions } from './retry-schedule';

export { ERROR_CLASSES } from './error-class';
export type { ErrorClass } from './error-class';

export { classifyResponse, classifyError, parseRetryAfter } from './outcome';
export type { AttemptOutcome, OutcomeAction, RetryAfterBounds, ClassifyResponseOptions } from './outcome';

export { createAddressPolicy } from './address-policy';
export type { AddressPolicy, AddressPolicyOptions, AddressVerdict, RefusalReason } from './address-policy';

export { checkDestination, createSafeLookup, DestinationRefusedError } from './destination';
export type { DestinationCheck, HostResolver, SafeLookupOptions } from './destination';

export { createWebhookAgents } from './connection-pool';
export type { WebhookAgents, WebhookAgentOptions } from './connection-pool';

export { postWebhook } from './post-webhook';
export type { PostWebhookOptions, WebhookAttempt } from './post-webhook';
