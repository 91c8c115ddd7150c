import type { Message } from 'kafkajs';
import type { DataCategory, ReasonCode, SentryAuth } from '@vigil/sentry-protocol';

/**
 * One `POST /api/{project_id}/<name>/` endpoint. The request pipeline (http/ingest-request.ts)
 * owns everything endpoints share — routing, CORS, content type, authentication, rate limits,
 * reading the body, the write to Kafka, outcomes and the answer — and asks the endpoint only what
 * differs: which content types it takes, how its body is framed, and what it writes. The flows
 * endpoint (`/api/{project_id}/flows/`) plugs in here with its own parser and topic.
 */
export interface IngestEndpoint<Parsed = unknown> {
  readonly name: string;
  /** The category a request counts as when it fails before its items are known. */
  readonly category: DataCategory;
  /** Largest body, as received and after decompression. */
  readonly maxBodyBytes: number;
  /** Whether the credential may be in the body (the envelope header's `dsn`). */
  readonly credentialInBody: boolean;
  acceptsContentType(mediaType: string): boolean;
  /** Frames and validates the body; throws a `ProtocolError` for a bad one. */
  parse(body: Buffer, ctx: RequestContext): Parsed;
  /** The credential found in the body, when `credentialInBody`. */
  bodyCredential?(parsed: Parsed): string | null;
  /** What the authenticated request writes and answers. */
  accept(parsed: Parsed, ctx: AuthenticatedContext): Accepted;
}

export interface RequestContext {
  projectId: number;
  receivedAtMs: number;
  /** The client's address (after trusted proxies). */
  clientIp: string | null;
  /** Lower-case media type without parameters; '' when the request has none. */
  mediaType: string;
}

export interface AuthenticatedContext extends RequestContext {
  auth: SentryAuth;
}

export interface ItemCount {
  category: DataCategory;
  quantity: number;
}

export interface ItemDrop extends ItemCount {
  reason: ReasonCode;
}

export interface Accepted {
  /** Units counted against the key's rate limit (events written). */
  quantity: number;
  /** Items accepted, by category. */
  accepted: ItemCount[];
  /** Items skipped inside the 200, with their reason. */
  dropped: ItemDrop[];
  /** What the SDK reports it dropped itself (client reports), with the SDK's reason. */
  clientDiscards: Array<ItemCount & { reason: string }>;
  /** Topic the messages go to. */
  topic: string;
  /** The messages to write (encoding is deferred until the rate limit has passed). */
  encode(): Promise<{ messages: Message[]; bytes: number }>;
  /** The JSON body of the 200. */
  body: Record<string, unknown>;
}
