/**
 * HTTP load against one URL with keep-alive connections: wrk (C, so the generator leaves the CPU
 * to the server under test) when installed, else autocannon in its own process. Every request
 * carries the same envelope with a fresh event id in place of ID_PLACEHOLDER.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ID_PLACEHOLDER } from './realistic-envelope';

export type LoadTool = 'wrk' | 'autocannon';

export interface LoadOptions {
  url: string;
  body: string;
  headers?: Record<string, string>;
  connections: number;
  durationSeconds: number;
  /** wrk threads / autocannon workers. */
  threads?: number;
  tool: LoadTool;
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  /** Requests answered with a status other than 2xx. */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

export async function wrkAvailable(): Promise<boolean> {
  try {
    await promisify(execFile)('wrk', ['--version']);
    return true;
  } catch (error) {
    // wrk --version exits 1 after printing its banner.
    return (error as { stdout?: string }).stdout?.includes('wrk') === true;
  }
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  return o.tool === 'wrk' ? runWrk(o) : runAutocannon(o);
}

function luaString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

async function runWrk(o: LoadOptions): Promise<LoadResult> {
  const parts = o.body.split(ID_PLACEHOLDER);
  const headers = Object.entries(o.headers ?? {})
    .map(([k, v]) => `wrk.headers[${luaString(k)}] = ${luaString(v)}`)
    .join('\n');
  const script = `
wrk.method = "POST"
${headers}
local parts = { ${parts.map(luaString).join(', ')} }
local hex = "0123456789abcdef"
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  local t = {}
  for i = 1, 32 do local n = math.random(1, 16); t[i] = hex:sub(n, n) end
  local id = table.concat(t)
  local body = table.concat(parts, id)
  return wrk.format(nil, nil, nil, body)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %d %d %.3f %.3f\\n", summary.requests, summary.duration / 1e6, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
`;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-wrk-'));
  const file = join(dir, 'envelope.lua');
  writeFileSync(file, script);
  const args = ['-t', String(o.threads ?? 2), '-c', String(o.connections), '-d', `${o.durationSeconds}s`, '--timeout', '10s', '-s', file, o.url];
  const { stdout } = await promisify(execFile)('wrk', args, { maxBuffer: 1 << 20 });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`wrk printed no result:\n${stdout}`);
  const [requests, seconds, non2xx, errors, p50, p99] = line.slice(7).split(' ').map(Number) as number[];
  return {
    requests: requests as number,
    requestsPerSecond: (requests as number) / (seconds as number),
    non2xx: non2xx as number,
    errors: errors as number,
    p50Ms: p50 as number,
    p99Ms: p99 as number,
  };
}

async function runAutocannon(o: LoadOptions): Promise<LoadResult> {
  const driver = fileURLToPath(new URL('./autocannon-driver.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', driver, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`autocannon driver exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1) as string) as LoadResult;
}
