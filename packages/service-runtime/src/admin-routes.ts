import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { ListenAddr } from '@vigil/config';

/** Each named dependency check resolves true when reachable. */
export type ReadinessChecks = Record<string, () => Promise<boolean>>;

export interface AdminRoutesOptions {
  metrics: Registry;
  readiness: ReadinessChecks;
  /** Per-check timeout; a check that takes longer counts as failed. */
  checkTimeoutMs?: number;
}

async function runChecks(checks: ReadinessChecks, timeoutMs: number): Promise<Record<string, boolean>> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
      const ok = await Promise.race([check().catch(() => false), timeout]);
      clearTimeout(timer);
      return [name, ok] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/**
 * Handles `GET /healthz` (alive), `GET /readyz` (dependencies reachable: 200 or 503 with each check's
 * result) and `GET /metrics` (Prometheus text). Returns false for any other path so a service can mount it
 * in front of its own routes.
 */
export function adminRoutes(o: AdminRoutesOptions) {
  const timeoutMs = o.checkTimeoutMs ?? 2000;
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return true;
    }
    if (path === '/readyz') {
      const checks = await runChecks(o.readiness, timeoutMs);
      const ready = Object.values(checks).every(Boolean);
      res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ready ? 'ready' : 'not_ready', checks }));
      return true;
    }
    if (path === '/metrics') {
      const body = await o.metrics.metrics();
      res.writeHead(200, { 'content-type': o.metrics.contentType }).end(body);
      return true;
    }
    return false;
  };
}

/** A server with only the admin routes, for services without an HTTP port of their own. */
export async function startAdminServer(addr: ListenAddr, o: AdminRoutesOptions): Promise<Server> {
  const routes = adminRoutes(o);
  const server = createServer((req, res) => {
    routes(req, res).then(
      (handled) => {
        if (!handled) res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found","message":"no such route"}}');
      },
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => resolve());
  });
  return server;
}
