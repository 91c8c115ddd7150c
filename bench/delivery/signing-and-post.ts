/**
 * Microbenchmark of the per-message work in @vigil/webhook-signing, each against a baseline
 * measured in the same run:
 *
 * - signing (buildWebhookHeaders: parse secret, HMAC, header assembly) vs a bare HMAC-SHA256;
 * - the address policy check per resolved address;
 * - postWebhook to a receiver on 127.0.0.1 (safe lookup, policy, timeouts, bounded read) vs a
 *   bare node:http keep-alive POST to the same receiver, at the same concurrency.
 *
 * Run: node --import tsx bench/delivery/signing-and-post.ts [requests=4000] [concurrency=32]
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  buildWebhookHeaders,
  createAddressPolicy,
  createWebhookAgents,
  generateSecret,
  messageId,
  postWebhook,
  serializePayload,
} from '@vigil/webhook-signing';

const requests = Number(process.argv[2] ?? 4000);
const concurrency = Number(process.argv[3] ?? 32);

function rate(label: string, iterations: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 1000); i += 1) fn(i); // warm-up
  const start = performance.now();
  for (let i = 0; i < iterations; i += 1) fn(i);
  const perSecond = iterations / ((performance.now() - start) / 1000);
  console.log(`${label.padEnd(44)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} ops/s`);
  return perSecond;
}

async function throughput(label: string, total: number, send: () => Promise<unknown>): Promise<number> {
  let next = 0;
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next += 1;
        const t0 = performance.now();
        await send();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const perSecond = total / ((performance.now() - start) / 1000);
  latencies.sort((a, b) => a - b);
  const p = (q: number) => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0).toFixed(2);
  console.log(`${label.padEnd(44)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} req/s  p50 ${p(0.5)} ms  p99 ${p(0.99)} ms`);
  return perSecond;
}

const secret = generateSecret();
const previous = generateSecret();
const body = serializePayload('alert.created', new Date(), {
  id: 'al_01J9ZK8Q2',
  severity: 'high',
  title: 'SSH brute force from 203.0.113.9',
  evidence: { attempts: 412, users: ['root', 'admin', 'ubuntu'] },
});
const key = Buffer.from(secret.slice('whsec_'.length), 'base64');

console.log(`# signing (${Buffer.byteLength(body)}-byte body)`);
const bare = rate('baseline: HMAC-SHA256 of id.ts.body', 200_000, (i) => {
  createHmac('sha256', key).update(`msg_${i}.1700000000.`).update(body).digest('base64');
});
const one = rate('buildWebhookHeaders, one secret', 200_000, (i) => {
  buildWebhookHeaders({ id: `msg_${i}`, body, secrets: [secret], userAgent: 'Vigil/0.1.0' });
});
const two = rate('buildWebhookHeaders, two secrets (rotation)', 200_000, (i) => {
  buildWebhookHeaders({ id: `msg_${i}`, body, secrets: [secret, previous], userAgent: 'Vigil/0.1.0' });
});
const ids = rate('messageId', 200_000, (i) => {
  messageId(`al_${i}`, 'ep_1');
});
console.log(`ratio one secret / baseline ${(one / bare).toFixed(2)}, two secrets / baseline ${(two / bare).toFixed(2)}, messageId / baseline ${(ids / bare).toFixed(2)}`);

console.log('\n# address policy');
const policy = createAddressPolicy({ allowCidrs: ['127.0.0.0/8'] });
const addresses = ['93.184.215.14', '10.1.2.3', '2606:4700:4700::1111', '2002:a00:1::1', '169.254.169.254', '127.0.0.1'];
rate('policy.check (mixed IPv4/IPv6)', 500_000, (i) => {
  policy.check(addresses[i % addresses.length]!);
});

console.log(`\n# delivery to a receiver on 127.0.0.1 (${requests} requests, concurrency ${concurrency})`);
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(204).end());
});
server.keepAliveTimeout = 30_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
const headers = buildWebhookHeaders({ id: 'msg_bench', body, secrets: [secret], userAgent: 'Vigil/0.1.0' });

const bareAgent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const barePost = () =>
  new Promise<void>((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent: bareAgent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    request.on('error', reject);
    request.end(body);
  });
const agents = createWebhookAgents(policy, { maxSockets: concurrency, maxFreeSockets: concurrency });
const safePost = (pooled: boolean) => async () => {
  const attempt = await postWebhook({ url, headers, body, policy, ...(pooled ? { agents } : {}) });
  if (attempt.outcome.action !== 'delivered') throw new Error(`unexpected outcome ${JSON.stringify(attempt.outcome)}`);
};

await throughput('warm-up', Math.min(500, requests), barePost);
const baseline = await throughput('baseline: bare node:http keep-alive POST', requests, barePost);
const pooled = await throughput('postWebhook with createWebhookAgents', requests, safePost(true));
const fresh = await throughput('postWebhook, new connection per attempt', requests, safePost(false));
console.log(`ratio pooled / baseline ${(pooled / baseline).toFixed(2)}, new connection / baseline ${(fresh / baseline).toFixed(2)}`);

bareAgent.destroy();
agents.destroy();
server.closeAllConnections();
server.close();
