import { REASONS, type ReasonCode } from './outcomes';

/** One problem inside a rejected payload, e.g. a native record's field. */
export interface ProtocolIssue {
  /** Index of the record (native events) or item (envelopes), when the problem is inside one. */
  record?: number;
  /** Dotted path of the offending field, e.g. `attributes.user.id`. */
  field?: string;
  message: string;
}

export interface ProtocolErrorDetails {
  /** For `payload_too_large`: which bound was exceeded and its value in bytes (or records). */
  limit?: 'compressed' | 'decompressed' | 'envelope' | 'item' | 'record' | 'records';
  limitValue?: number;
  /** Envelope item type the error refers to. */
  itemType?: string;
  issues?: ProtocolIssue[];
}

/** Body of a 4xx/5xx answer, shaped like Relay's (`detail`, `causes`) plus the stable reason code. */
export interface ProtocolErrorBody {
  detail: string;
  reason: ReasonCode;
  causes?: string[];
  issues?: ProtocolIssue[];
}

/**
 * The one error type this package throws for bad input. `reason` is a code from the outcome
 * catalogue, so the service can count it and answer with `status` without string matching.
 */
export class ProtocolError extends Error {
  readonly reason: ReasonCode;
  readonly details: ProtocolErrorDetails;

  constructor(reason: ReasonCode, message?: string, details: ProtocolErrorDetails = {}, options?: ErrorOptions) {
    super(message ?? REASONS[reason].message, options);
    this.name = 'ProtocolError';
    this.reason = reason;
    this.details = details;
  }

  /** HTTP status for a request rejected with this error (400 for item-level reasons). */
  get status(): number {
    return REASONS[this.reason].status ?? 400;
  }

  toResponseBody(): ProtocolErrorBody {
    const body: ProtocolErrorBody = { detail: this.message, reason: this.reason };
    const cause = this.cause;
    if (cause instanceof Error && cause.message !== this.message) body.causes = [cause.message];
    if (this.details.issues !== undefined && this.details.issues.length > 0) body.issues = this.details.issues;
    return body;
  }
}

export function isProtocolError(value: unknown): value is ProtocolError {
  return value instanceof ProtocolError;
}
