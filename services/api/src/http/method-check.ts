import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './error-catalog';
import type { AnyRoute } from './routes';

/**
 * 405 with `Allow` for a method a known path does not declare (instead of a 404, which would suggest the
 * path is wrong). Runs before the body is read, so any method — QUERY, TRACE, a made-up one — gets it.
 */
export function methodCheck(routes: readonly AnyRoute[], extraPaths: readonly string[] = []) {
  const templates = new Map<string, { regex: RegExp; methods: Set<string> }>();
  const add = (path: string, method: string) => {
    let t = templates.get(path);
    if (!t) {
      const pattern = path
        .split('/')
        .map((seg) => (seg.startsWith('{') ? '[^/]+' : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
        .join('/');
      t = { regex: new RegExp(`^${pattern}/?$`), methods: new Set() };
      templates.set(path, t);
    }
    t.methods.add(method);
    if (method === 'GET') t.methods.add('HEAD');
  };
  for (const r of routes) add(r.path, r.method);
  for (const p of extraPaths) add(p, 'GET');
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!request.is404) return;
    const path = request.url.split('?')[0]!;
    const allowed = new Set<string>();
    for (const t of templates.values()) if (t.regex.test(path)) for (const m of t.methods) allowed.add(m);
    if (allowed.size === 0 || allowed.has(request.method)) return;
    const allow = [...allowed].sort().join(', ');
    reply.header('allow', allow);
    throw new ApiError('method_not_allowed', `${request.method} is not supported here; use ${allow}.`, [], { allow });
  };
}
