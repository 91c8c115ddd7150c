/**
 * autocannon in its own process (so it does not share an event loop with anything measured),
 * with a fresh event id per request (one process, no workers: a per-request function cannot be
 * handed to autocannon's worker threads). Prints one JSON line: the LoadResult.
 *
 * Run by load-generator.ts: node --import tsx bench/ingest/autocannon-driver.ts '<LoadOptions JSON>'
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { LoadOptions, LoadResult } from './load-generator';
import { ID_PLACEHOLDER } from './realistic-envelope';

interface AutocannonResult {
  requests: { total: number };
  duration: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latency: { p50: number; p99: number };
}
// autocannon ships no type declarations.
const autocannon = createRequire(import.meta.url)('autocannon') as (options: Record<string, unknown>) => Promise<AutocannonResult>;

const o = JSON.parse(process.argv[2] as string) as LoadOptions;
const parts = o.body.split(ID_PLACEHOLDER);
const ids = randomBytes(16 * 4096).toString('hex');
let n = 0;

const result = await autocannon({
  url: o.url,
  connections: o.connections,
  duration: o.durationSeconds,
  method: 'POST',
  headers: o.headers ?? {},
  requests: [
    {
      setupRequest(req: Record<string, unknown>) {
        const at = (n++ % 4096) * 32;
        // Counter in the first 8 characters: distinct ids beyond the 4096 random ones.
        const id = ((n >>> 0).toString(16).padStart(8, '0') + ids.slice(at + 8, at + 32)).slice(0, 32);
        return { ...req, body: parts.join(id) };
      },
    },
  ],
});
const out: LoadResult = {
  requests: result.requests.total,
  requestsPerSecond: result.requests.total / (result.duration || o.durationSeconds),
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
