/**
 * A real webhook receiver on 127.0.0.1 for tests and benchmarks. Every request is verified with the
 * `standardwebhooks` package and with Svix's verifier, once per secret the receiver is told to
 * expect, exactly as a subscriber would; the test decides how each request is answered.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Webhook as StandardWebhook } from 'standardwebhooks';

interface WebhookVerifier {
  verify(payload: string, headers: Record<string, string>): unknown;
}
// svix is installed for @vigil/webhook-signing (nested under its node_modules); load it from there.
const requireFromSigning = createRequire(new URL('../../../../packages/webhook-signing/package.json', import.meta.url));
const { Webhook: SvixWebhook } = requireFromSigning('svix') as { Webhook: new (secret: string) => WebhookVerifier };

export interface ReceivedRequest {
  id: string;
  /** Path and query the request was sent to. */
  path: string;
  /** How many requests with this webhook-id arrived before this one. */
  seen: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() at arrival. */
  receivedAt: number;
  /** performance.now() at arrival (for latencies measured in this process). */
  receivedAtPerf: number;
  /** Every expected secret verified the request with both libraries. */
  verified: boolean;
  verification: Array<{ standardwebhooks: boolean; svix: boolean }>;
}

export type Reply =
  | { status: number; headers?: Record<string, string>; body?: string }
  /** Keep the request open this long, then answer 200 (unless the receiver closes first). */
  | { hangMs: number; status?: number };

export interface ReceiverOptions {
  /** The secrets a receiver holding each of them would use; every one must verify every request. */
  secrets: () => readonly string[];
  reply?: (request: ReceivedRequest) => Reply;
  host?: string;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Distinct webhook-ids received. */
  ids(): Set<string>;
  /** Most requests open at the same time so far. */
  maxOpen(): number;
  /** Resolves once `done()` holds; rejects after `timeoutMs` with `what` in the message. */
  waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  let open = 0;
  let maxOpen = 0;
  const server: Server = createServer((req, res) => {
    open += 1;
    maxOpen = Math.max(maxOpen, open);
    res.on('close', () => (open -= 1));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const id = String(req.headers['webhook-id'] ?? '');
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
      );
      const verification = options.secrets().map((secret) => ({
        standardwebhooks: passes(() => new StandardWebhook(secret).verify(body, headers)),
        svix: passes(() => new SvixWebhook(secret).verify(body, headers)),
      }));
      const request: ReceivedRequest = {
        id,
        path: req.url ?? '',
        seen: seen.get(id) ?? 0,
        headers: req.headers,
        body,
        receivedAt: Date.now(),
        receivedAtPerf: performance.now(),
        verified: verification.length > 0 && verification.every((v) => v.standardwebhooks && v.svix),
        verification,
      };
      seen.set(id, request.seen + 1);
      requests.push(request);
      const reply = options.reply?.(request) ?? { status: 204 };
      if ('hangMs' in reply) {
        const timer = setTimeout(() => res.writeHead(reply.status ?? 200).end(), reply.hangMs);
        res.on('close', () => clearTimeout(timer));
        return;
      }
      res.writeHead(reply.status, reply.headers).end(reply.body ?? '');
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/hook`,
    port,
    requests,
    ids: () => new Set(requests.map((r) => r.id)),
    maxOpen: () => maxOpen,
    async waitFor(done, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function passes(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}
