/**
 * Microbenchmark of the pure per-request work in @vigil/sentry-protocol on a realistic envelope
 * (the one the real @sentry/node SDK sent in the package's tests, ~3 KiB), each path against a
 * baseline measured in the same run:
 *
 * - envelope framing (parseEnvelope) vs JSON.parse of the same bytes' event line alone;
 * - the whole pure path for one request (extractAuth + parseEnvelope + normalizeSentryEvent) vs
 *   JSON.parse of the event payload — the least any ingest must do;
 * - the same with the body gzipped and decoded by readBody, vs zlib.gunzipSync + JSON.parse;
 * - a native NDJSON body of 20 events (parseNativeEvents, zod validation) vs JSON.parse per line.
 *
 * Run: node --import tsx bench/ingest/parse.ts [iterations=20000]
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  extractAuth,
  normalizeSentryEvent,
  parseEnvelope,
  parseNativeEvents,
  readBody,
} from '@vigil/sentry-protocol';

const iterations = Number(process.argv[2] ?? 20000);
const fixtures = new URL('../../packages/sentry-protocol/src/sdk/fixtures/', import.meta.url);
const body = readFileSync(new URL('node-sdk-exception.envelope', fixtures));
const meta = JSON.parse(readFileSync(new URL('node-sdk-exception.request.json', fixtures), 'utf8')) as {
  url: string;
  headers: Record<string, string>;
};
const query = new URL(meta.url, 'http://localhost').search;
const eventLine = body.subarray(body.lastIndexOf('\n{"type"') + '\n{"type":"event"}\n'.length);
const gzipped = gzipSync(body);
const ndjson = Buffer.from(
  Array.from({ length: 20 }, (_, i) =>
    JSON.stringify({
      class: 'security',
      severity: 'high',
      type: 'auth.failed_login',
      message: `failed login for user${i}`,
      timestamp: new Date().toISOString(),
      attributes: { user: `user${i}`, source_ip: '198.51.100.7', attempts: i, geo: { country: 'NL' } },
    }),
  ).join('\n'),
);

let sink = 0;

async function rate(label: string, n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(n, 2000); i += 1) await fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < n; i += 1) {
    const out = await fn();
    if (out !== undefined) sink += 1;
  }
  const perSecond = n / ((performance.now() - start) / 1000);
  console.log(`${label.padEnd(52)} ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} ops/s`);
  return perSecond;
}

function ratio(label: string, value: number, baseline: number): void {
  console.log(`  → ${label}: ${(value / baseline).toFixed(2)} × baseline`);
}

function fullPath(envelopeBody: Buffer): unknown {
  const envelope = parseEnvelope(envelopeBody);
  const auth = extractAuth({ projectId: 42, headers: meta.headers, query, envelopeDsn: envelope.header.dsn });
  const receivedAtMs = Date.now();
  return envelope.items.map((item) =>
    normalizeSentryEvent(item.payload, { projectId: 42, receivedAtMs, clientIp: '127.0.0.1', itemType: item.type, envelope: envelope.header, auth }),
  );
}

console.log(`envelope ${body.length} B (gzipped ${gzipped.length} B), event payload ${eventLine.length} B, ${iterations} iterations\n`);

const jsonBaseline = await rate('baseline: JSON.parse(event payload)', iterations, () => JSON.parse(eventLine.toString('utf8')));
const framing = await rate('parseEnvelope', iterations, () => parseEnvelope(body));
ratio('framing vs baseline', framing, jsonBaseline);
const full = await rate('extractAuth + parseEnvelope + normalizeSentryEvent', iterations, () => fullPath(body));
ratio('full pure path vs baseline', full, jsonBaseline);

const eventOffset = body.length - eventLine.length;
const gzBaseline = await rate('baseline: gunzipSync + JSON.parse(event payload)', iterations / 4, () =>
  JSON.parse(gunzipSync(gzipped).toString('utf8', eventOffset)),
);
const gz = await rate('readBody(gzip) + full pure path', iterations / 4, async () =>
  fullPath(await readBody(gzipped, { contentEncoding: 'gzip', maxDecompressedBytes: 20 << 20 })),
);
ratio('gzip path vs baseline', gz, gzBaseline);

const ndBaseline = await rate('baseline: JSON.parse per NDJSON line (20 events)', iterations / 4, () =>
  ndjson.toString('utf8').split('\n').map((line) => JSON.parse(line) as unknown),
);
const native = await rate('parseNativeEvents (20 events, zod)', iterations / 4, () =>
  parseNativeEvents(ndjson, { projectId: 42, receivedAtMs: Date.now(), clientIp: '127.0.0.1' }),
);
ratio('native vs baseline', native, ndBaseline);
console.log(`\n(${sink} results)`);
