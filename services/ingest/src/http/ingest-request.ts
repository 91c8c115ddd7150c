import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@vigil/logging';
import { checkEnvelopeDsn, isProtocolError, ProtocolError, readBody, type SentryAuth } from '@vigil/sentry-protocol';
import type { Authorizer } from '../auth/authorize';
import type { KeyRecord } from '../auth/key-cache';
import type { Accepted, IngestEndpoint, RequestContext } from '../endpoints/endpoint';
import type { EventLog } from '../event-log/event-log';
import type { IngestMetrics } from '../outcomes/ingest-metrics';
import { KeyRateLimited, type KeyRateLimiter } from '../quota/key-rate-limiter';
import { mediaTypeOf } from './content-type';
import { answerError, answerJson } from './respond';

export interface IngestRequestDeps {
  authorizer: Authorizer;
  limiter: KeyRateLimiter;
  eventLog: EventLog;
  metrics: IngestMetrics;
  logger: Logger;
  clientIp: (req: IncomingMessage) => string | null;
  /** `Retry-After` of a 503. */
  unavailableRetryAfterSeconds: number;
}

/** Bodies refused before they were read are discarded (keeping the connection) up to this size. */
const DISCARD_UNREAD_MAX = 64 * 1024;
/** After a refusal in the middle of a body, at most this much more is read to keep the connection. */
const DRAIN_MAX = 1024 * 1024;
const DRAIN_TIMEOUT_MS = 2000;

/**
 * One ingest request, the same for every endpoint:
 *
 * method → content type → declared size → credential and key (before the body, when the request
 * carries one) → quota already used up? → body (bounded, decompressed) → endpoint parses →
 * credential from the body (envelope DSN) → endpoint normalizes → quota → encode → Kafka
 * acknowledges → 200.
 *
 * Every refusal is a `ProtocolError` answered with its status and counted as an outcome for the
 * request's items (or, before they are known, one item of the endpoint's category).
 */
export class IngestRequestHandler {
  constructor(private readonly d: IngestRequestDeps) {}

  async handle(req: IncomingMessage, res: ServerResponse, endpoint: IngestEndpoint, projectId: number, query: string): Promise<void> {
    const started = performance.now();
    const cors = req.headers.origin !== undefined;
    let status = 500;
    let accepted: Accepted | null = null;
    let bodyStarted = false;
    try {
      if (req.method !== 'POST') throw new ProtocolError('method_not_allowed', `${req.method ?? ''} is not allowed here; use POST`);
      const mediaType = mediaTypeOf(req.headers['content-type']);
      if (!endpoint.acceptsContentType(mediaType)) {
        throw new ProtocolError('unsupported_content_type', `unsupported content type ${JSON.stringify(mediaType)} for ${endpoint.name}`);
      }
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > endpoint.maxBodyBytes) {
        throw new ProtocolError('payload_too_large', `request body exceeds ${endpoint.maxBodyBytes} bytes`, {
          limit: 'compressed',
          limitValue: endpoint.maxBodyBytes,
        });
      }
      const ctx: RequestContext = { projectId, receivedAtMs: Date.now(), clientIp: this.d.clientIp(req), mediaType };

      let auth = this.requestCredential(req, endpoint, projectId, query);
      let key: KeyRecord | null = null;
      if (auth !== null) {
        key = await this.keyOf(auth);
        const wait = this.d.limiter.exhausted(key);
        if (wait !== null) throw new KeyRateLimited(wait);
      }

      bodyStarted = true;
      const body = await readBody(req, {
        contentEncoding: req.headers['content-encoding'],
        maxCompressedBytes: endpoint.maxBodyBytes,
        maxDecompressedBytes: endpoint.maxBodyBytes,
      });
      const parsed = endpoint.parse(body, ctx);

      const dsn = endpoint.bodyCredential?.(parsed) ?? null;
      if (auth === null || key === null) {
        auth = this.d.authorizer.credential({ projectId, headers: req.headers, query, envelopeDsn: dsn });
        key = await this.keyOf(auth);
      } else if (dsn !== null) {
        // Both the request and the envelope name a key: they must agree (and name this project).
        checkEnvelopeDsn(auth, dsn, projectId);
      }

      accepted = endpoint.accept(parsed, { ...ctx, auth });
      if (accepted.quantity > 0) {
        const wait = this.d.limiter.take(key, accepted.quantity);
        if (wait !== null) throw new KeyRateLimited(wait);
        const { messages, bytes } = await accepted.encode();
        await this.d.eventLog.write(accepted.topic, messages, bytes);
      }

      this.countAccepted(accepted);
      status = 200;
      answerJson(res, 200, JSON.stringify(accepted.body), cors);
    } catch (caught) {
      const error = isProtocolError(caught) ? caught : this.internal(caught, endpoint);
      status = error.status;
      this.countRefused(error, endpoint, accepted);
      if (!req.complete && !(await this.discardRest(req, bodyStarted))) res.setHeader('connection', 'close');
      if (!res.headersSent) {
        const retryAfterSeconds =
          error instanceof KeyRateLimited ? error.retryAfterSeconds : error.status === 503 ? this.d.unavailableRetryAfterSeconds : undefined;
        answerError(res, retryAfterSeconds === undefined ? { error, cors } : { error, cors, retryAfterSeconds });
      }
    } finally {
      this.d.metrics.request(endpoint.name, status, (performance.now() - started) / 1000);
    }
  }

  /** The credential in headers or query; null when there is none yet and the body may hold it. */
  private requestCredential(req: IncomingMessage, endpoint: IngestEndpoint, projectId: number, query: string): SentryAuth | null {
    try {
      return this.d.authorizer.credential({ projectId, headers: req.headers, query });
    } catch (error) {
      if (endpoint.credentialInBody && isProtocolError(error) && error.reason === 'missing_auth') return null;
      throw error;
    }
  }

  private async keyOf(auth: SentryAuth): Promise<KeyRecord> {
    const found = this.d.authorizer.authorize(auth);
    return (found instanceof Promise ? await found : found).key;
  }

  private countAccepted(a: Accepted): void {
    const m = this.d.metrics;
    for (const item of a.accepted) m.accepted(item.category, item.quantity);
    for (const item of a.dropped) m.rejected(item.reason, item.category, item.quantity);
    for (const item of a.clientDiscards) m.clientDiscard(item.reason, item.category, item.quantity);
  }

  private countRefused(error: ProtocolError, endpoint: IngestEndpoint, accepted: Accepted | null): void {
    const m = this.d.metrics;
    if (accepted === null) {
      m.rejected(error.reason, endpoint.category);
      return;
    }
    for (const item of accepted.accepted) m.rejected(error.reason, item.category, item.quantity);
    for (const item of accepted.dropped) m.rejected(item.reason, item.category, item.quantity);
  }

  private internal(error: unknown, endpoint: IngestEndpoint): ProtocolError {
    this.d.logger.error({ err: error, endpoint: endpoint.name }, 'request failed unexpectedly');
    return new ProtocolError('internal');
  }

  /**
   * Reads and discards what is left of a refused request, so the connection can serve the next
   * one. False when that would mean reading too much: the connection is then closed.
   */
  private discardRest(req: IncomingMessage, bodyStarted: boolean): Promise<boolean> {
    if (!bodyStarted) {
      // Never read: Node discards it after the answer, unless it is large.
      const declared = Number(req.headers['content-length'] ?? Number.POSITIVE_INFINITY);
      return Promise.resolve(declared <= DISCARD_UNREAD_MAX);
    }
    return new Promise((resolve) => {
      let read = 0;
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        req.off('data', onData).off('end', onEnd).off('error', onFail).off('close', onClose);
        if (!ok) req.pause();
        resolve(ok);
      };
      const onData = (chunk: Buffer) => {
        read += chunk.length;
        if (read > DRAIN_MAX) finish(false);
      };
      const onEnd = () => finish(true);
      const onFail = () => finish(false);
      const onClose = () => finish(req.complete);
      const timer = setTimeout(() => finish(false), DRAIN_TIMEOUT_MS);
      req.on('data', onData).once('end', onEnd).once('error', onFail).once('close', onClose);
      req.resume();
    });
  }
}
