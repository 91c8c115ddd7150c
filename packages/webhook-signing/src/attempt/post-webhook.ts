import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AddressPolicy } from '../egress/address-policy';
import { agentsEnforce, type WebhookAgents } from '../egress/connection-pool';
import { checkDestination, createSafeLookup, type HostResolver } from '../egress/destination';
import type { ErrorClass } from './error-class';
import { classifyError, classifyResponse, type AttemptOutcome, type RetryAfterBounds } from './outcome';

/**
 * One delivery attempt over node:http/https, shaped for the attempt log: it never throws for
 * anything the network or the receiver does, never follows a redirect, never connects to an
 * address the policy refuses, and never holds more than `maxResponseBytes` of the answer.
 */
export interface PostWebhookOptions {
  url: string | URL;
  /** Request headers (signature headers, content-type, user-agent, custom headers). */
  headers: Readonly<Record<string, string>>;
  body: string | Uint8Array;
  policy: AddressPolicy;
  timeouts?: {
    /** Name resolution + TCP connect + TLS handshake. Default 5 s. */
    connectMs?: number;
    /** From the start until the response headers; also caps reading the body. Default 15 s. */
    totalMs?: number;
  };
  /** Response body bytes kept; the rest is not read. Default 4 KiB. */
  maxResponseBytes?: number;
  /** Bounds for an honoured Retry-After. */
  retryAfter?: RetryAfterBounds;
  /** Response headers kept for the log (lower-case). */
  responseHeaders?: readonly string[];
  /** Keep-alive agents from createWebhookAgents(policy); without them each attempt has its own connection. */
  agents?: WebhookAgents;
  /** Name resolution, for tests; ignored when agents are given (they carry their own). */
  resolve?: HostResolver;
}

export interface WebhookAttempt {
  /** HTTP status, or null when no response arrived. */
  status: number | null;
  /** Selected response headers, each value at most 1 KiB. */
  headers: Record<string, string>;
  /** Response body decoded as UTF-8, at most maxResponseBytes bytes of it. */
  body: string;
  bodyTruncated: boolean;
  /** Milliseconds from the call until the outcome was known. */
  durationMs: number;
  /** The address the socket connected to, when it connected. */
  remoteAddress: string | null;
  outcome: AttemptOutcome;
  /** A one-line description of the failure for the attempt log, or null on success. */
  error: string | null;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_TOTAL_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 4_096;
export const DEFAULT_RESPONSE_HEADERS: readonly string[] = [
  'content-type',
  'content-length',
  'retry-after',
  'location',
  'server',
  'date',
  'x-request-id',
];
const MAX_HEADER_VALUE = 1_024;
/** Headers derived from the URL and body; a caller's (or a tenant's custom) value never wins. */
const CONTROLLED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

class AttemptTimeoutError extends Error {
  constructor(readonly errorClass: Extract<ErrorClass, 'connect_timeout' | 'total_timeout'>, ms: number) {
    super(`${errorClass === 'connect_timeout' ? 'connect' : 'response'} timed out after ${ms} ms`);
  }
}

export function postWebhook(options: PostWebhookOptions): Promise<WebhookAttempt> {
  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 1000) / 1000;
  const failure = (error: unknown, remoteAddress: string | null = null): WebhookAttempt => ({
    status: null,
    headers: {},
    body: '',
    bodyTruncated: false,
    durationMs: elapsed(),
    remoteAddress,
    outcome: classifyError(error),
    error: error instanceof Error ? error.message : String(error),
  });

  if (options.agents && !agentsEnforce(options.agents, options.policy)) {
    throw new TypeError('agents must come from createWebhookAgents with the same policy');
  }
  const destination = checkDestination(options.url, options.policy);
  if (!destination.ok) return Promise.resolve(failure(destination.error));
  const { url } = destination;
  const secure = url.protocol === 'https:';
  const connectMs = options.timeouts?.connectMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const totalMs = options.timeouts?.totalMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const keep = options.responseHeaders ?? DEFAULT_RESPONSE_HEADERS;
  const body = typeof options.body === 'string' ? Buffer.from(options.body, 'utf8') : options.body;

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers)) {
    if (!CONTROLLED_HEADERS.has(name.toLowerCase())) headers[name] = value;
  }
  headers['content-length'] = String(body.byteLength);

  return new Promise((resolve) => {
    let settled = false;
    let remoteAddress: string | null = null;
    let response: http.IncomingMessage | null = null;
    const chunks: Buffer[] = [];
    let received = 0;
    let truncated = false;

    const settle = (attempt: WebhookAttempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      clearTimeout(totalTimer);
      resolve(attempt);
    };
    const settleWithResponse = (res: http.IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const outcome = classifyResponse({ status, headers: res.headers, ...(options.retryAfter ? { retryAfter: options.retryAfter } : {}) });
      settle({
        status,
        headers: pickHeaders(res.headers, keep),
        body: Buffer.concat(chunks).toString('utf8'),
        bodyTruncated: truncated,
        durationMs: elapsed(),
        remoteAddress,
        outcome,
        error: outcome.errorClass === null ? null : `HTTP ${status}`,
      });
    };

    let request: http.ClientRequest;
    try {
      request = (secure ? https : http).request({
        protocol: url.protocol,
        hostname: destination.address ?? url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...headers, host: url.host },
        auth: url.username || url.password ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
        agent: options.agents ? (secure ? options.agents.https : options.agents.http) : false,
        ...(options.agents ? {} : { lookup: createSafeLookup(options.policy, options.resolve ? { resolve: options.resolve } : {}) }),
        maxHeaderSize: 16 * 1024,
      });
    } catch (error) {
      // Invalid header names or values are thrown synchronously by node:http.
      resolve(failure(error));
      return;
    }

    const connectTimer = setTimeout(() => request.destroy(new AttemptTimeoutError('connect_timeout', connectMs)), connectMs);
    const totalTimer = setTimeout(() => {
      if (response) {
        // Headers arrived in time: the status decides; the body is cut where it stands.
        truncated = true;
        settleWithResponse(response);
        response.destroy();
      } else {
        request.destroy(new AttemptTimeoutError('total_timeout', totalMs));
      }
    }, totalMs);

    request.on('socket', (socket: Socket) => {
      const connected = () => {
        clearTimeout(connectTimer);
        remoteAddress = socket.remoteAddress ?? null;
      };
      if (request.reusedSocket || (!socket.connecting && !secure)) connected();
      else socket.once(secure ? 'secureConnect' : 'connect', connected);
    });

    request.on('response', (res) => {
      response = res;
      clearTimeout(connectTimer);
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = maxBytes - received;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          received = maxBytes;
          truncated = true;
          settleWithResponse(res);
          res.destroy();
          return;
        }
        chunks.push(chunk);
        received += chunk.length;
      });
      res.on('end', () => settleWithResponse(res));
      // A reset mid-body still leaves the status as the answer.
      res.on('error', () => {
        truncated = true;
        settleWithResponse(res);
      });
      res.on('close', () => {
        if (!res.complete) truncated = true;
        settleWithResponse(res);
      });
    });

    request.on('error', (error) => {
      if (response) {
        truncated = true;
        settleWithResponse(response);
      } else {
        settle(failure(error, remoteAddress));
      }
    });

    request.end(body);
  });
}

function pickHeaders(headers: http.IncomingHttpHeaders, keep: readonly string[]): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of keep) {
    const value = headers[name.toLowerCase()];
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    picked[name.toLowerCase()] = text.length > MAX_HEADER_VALUE ? text.slice(0, MAX_HEADER_VALUE) : text;
  }
  return picked;
}
