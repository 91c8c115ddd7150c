import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ListenAddr } from '@vigil/config';
import type { Logger } from '@vigil/logging';
import type { IngestEndpoint } from '../endpoints/endpoint';
import type { IngestMetrics } from '../outcomes/ingest-metrics';
import { answerPreflight } from './cors';
import type { IngestRequestHandler } from './ingest-request';
import { answerJson } from './respond';
import { matchIngestRoute } from './routes';

export interface IngestServerOptions {
  endpoints: ReadonlyArray<IngestEndpoint>;
  handler: IngestRequestHandler;
  /** `/healthz`, `/readyz`, `/metrics`: true when it answered. */
  adminRoutes: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  metrics: IngestMetrics;
  logger: Logger;
  /** Node's limits on slow clients. */
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

const NOT_FOUND = JSON.stringify({ detail: 'no such endpoint' });

/**
 * Ingest's HTTP server: plain `node:http` and a two-line router (this is the hot path: no
 * framework work per request). `/api/{project_id}/{endpoint}/` goes to the endpoint, anything else
 * to the admin routes or 404. `close` stops accepting, lets in-flight requests finish (their
 * connections are closed after the answer), and only then returns.
 */
export class IngestServer {
  readonly server: Server;
  private readonly endpoints: Map<string, IngestEndpoint>;
  /** Responses not yet finished: told to close their connection when a stop begins. */
  private readonly open = new Set<ServerResponse>();
  private draining = false;
  private drained: (() => void) | null = null;

  constructor(private readonly o: IngestServerOptions) {
    this.endpoints = new Map(o.endpoints.map((e) => [e.name, e]));
    this.server = createServer(
      {
        requestTimeout: o.requestTimeoutMs ?? 60_000,
        keepAliveTimeout: o.keepAliveTimeoutMs ?? 65_000,
        headersTimeout: 30_000,
      },
      (req, res) => this.dispatch(req, res),
    );
  }

  async listen(addr: ListenAddr): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(addr.port, addr.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : addr.port;
  }

  /** Requests being handled. */
  inFlight(): number {
    return this.open.size;
  }

  /** Whether the server still takes requests (readiness turns false while draining). */
  isAccepting(): boolean {
    return !this.draining;
  }

  /** Stops accepting; resolves when in-flight requests have been answered, or after `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    this.draining = true;
    for (const res of this.open) if (!res.headersSent) res.setHeader('connection', 'close');
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    if (this.open.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.drained = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
      if (this.open.size > 0) this.o.logger.warn({ in_flight: this.open.size }, 'requests still running at the end of the shutdown timeout');
    }
    this.server.closeAllConnections();
    await closed;
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    this.open.add(res);
    res.once('close', () => {
      this.open.delete(res);
      if (this.draining && this.open.size === 0) this.drained?.();
    });
    if (this.draining) res.setHeader('connection', 'close');

    const url = req.url ?? '/';
    if (url.startsWith('/api/')) {
      const route = matchIngestRoute(url);
      const endpoint = route === null ? undefined : this.endpoints.get(route.endpoint);
      if (route === null || endpoint === undefined) {
        this.notFound(req, res);
        return;
      }
      if (req.method === 'OPTIONS') {
        answerPreflight(res);
        this.o.metrics.request(endpoint.name, 200, 0);
        return;
      }
      this.o.handler.handle(req, res, endpoint, route.projectId, route.query).catch((err: unknown) => {
        this.o.logger.error({ err }, 'answering a request failed');
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
      return;
    }
    this.o.adminRoutes(req, res).then(
      (handled) => {
        if (!handled) this.notFound(req, res);
      },
      (err: unknown) => {
        this.o.logger.error({ err }, 'admin route failed');
        if (!res.headersSent) res.writeHead(500).end();
      },
    );
  }

  private notFound(req: IncomingMessage, res: ServerResponse): void {
    answerJson(res, 404, NOT_FOUND, req.headers.origin !== undefined);
    this.o.metrics.request('unknown', 404, 0);
  }
}
