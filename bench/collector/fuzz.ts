/**
 * Hostile-input soak: decodes mutated and truncated real datagrams (softflowd v5/v9/IPFIX captures
 * plus hand-built options, withdrawal, enterprise and variable-length datagrams) and reports how
 * many were processed, exceptions that escaped (must be 0), internal errors (must be 0), heap growth
 * and time. The baseline in the same run is the decode rate of the unmutated seeds.
 *
 *   node --import tsx bench/collector/fuzz.ts [packets]
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createFlowDecoder, type DropReason } from '@vigil/flow-decoder';
import { mutate, seedDatagrams, type Mutation } from '@vigil/flow-decoder/testing';
import { prngUint32 } from '../prng';

const PACKETS = Number(process.argv[2] ?? 1_000_000);
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const KINDS: Mutation['kind'][] = ['flip', 'set16', 'truncate', 'append', 'duplicate', 'zero'];
const seeds = seedDatagrams();
// Deterministic, so a failure can be replayed.
const rand = prngUint32(0x5eed);
const options = {
  maxScopes: 64,
  maxTemplatesPerScope: 64,
  maxPendingBytesPerScope: 64 * 1024,
  maxPendingBytes: 4 * 1024 * 1024,
  templateTtlMs: 120_000,
  pendingTtlMs: 30_000,
};
const decoder = createFlowDecoder(options);

// Baseline: the unmutated seeds through a fresh decoder.
{
  const clean = createFlowDecoder();
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < 1000) for (const s of seeds) (clean.decode(s, `seed`, 1_709_294_500_000), n++);
  console.log(`baseline: ${Math.round(n / ((performance.now() - started) / 1000)).toLocaleString('en-US')} unmutated datagrams/s`);
}

gc();
const heapStart = process.memoryUsage().heapUsed;
let heapMaxGrowth = 0;
let thrown = 0;
let flows = 0;
let slowestMs = 0;
/** Slowest after JIT warm-up: early outliers are compilation and GC, not input-dependent. */
let slowestWarmMs = 0;
const WARMUP = 50_000;
let now = 1_709_294_500_000;
const rejected = new Map<DropReason, number>();
const started = performance.now();
for (let i = 0; i < PACKETS; i++) {
  const seed = seeds[rand() % seeds.length]!;
  const steps = 1 + (rand() % 4);
  const mutations: Mutation[] = [];
  for (let k = 0; k < steps; k++) mutations.push({ kind: KINDS[rand() % KINDS.length]!, at: rand(), value: rand() });
  const datagram = mutate(seed, mutations);
  now += 1;
  const t0 = performance.now();
  try {
    const r = decoder.decode(datagram, `exporter-${rand() % 96}`, now, i % 4 === 0 ? 'report-missing' : 'buffer');
    flows += r.flows.length;
    if (r.rejected !== null) rejected.set(r.rejected, (rejected.get(r.rejected) ?? 0) + 1);
  } catch (err) {
    thrown++;
    if (thrown <= 5) console.error('escaped exception', err, datagram.toString('hex'));
  }
  const dt = performance.now() - t0;
  slowestMs = Math.max(slowestMs, dt);
  if (i >= WARMUP) slowestWarmMs = Math.max(slowestWarmMs, dt);
  if (i % 10_000 === 9_999) decoder.expire(now);
  if (i % 100_000 === 99_999) {
    gc();
    heapMaxGrowth = Math.max(heapMaxGrowth, process.memoryUsage().heapUsed - heapStart);
  }
}
const seconds = (performance.now() - started) / 1000;
const stats = decoder.stats();
const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);

console.log(`packets:            ${PACKETS.toLocaleString('en-US')} mutated datagrams from ${seeds.length} seeds`);
console.log(`throws caught:      ${thrown}`);
console.log(`internal errors:    ${stats.drops.internal_error}`);
console.log(`flows decoded:      ${flows.toLocaleString('en-US')}`);
console.log(`rejected:           ${[...rejected].map(([k, v]) => `${k}=${v}`).join(' ')}`);
console.log(`state at end:       scopes=${stats.scopes} templates=${stats.templates.active} pending=${mib(stats.pending.bytes)} MiB (limits ${options.maxScopes}, ${options.maxScopes * options.maxTemplatesPerScope}, ${mib(options.maxPendingBytes)} MiB)`);
console.log(`max heap growth:    ${mib(heapMaxGrowth)} MiB (sampled after GC every 100,000 packets)`);
console.log(`slowest datagram:   ${slowestWarmMs.toFixed(2)} ms after the first ${WARMUP.toLocaleString('en-US')} (${slowestMs.toFixed(2)} ms including JIT warm-up)`);
console.log(`time:               ${seconds.toFixed(1)} s (${Math.round(PACKETS / seconds).toLocaleString('en-US')} mutated datagrams/s, mutation included)`);
if (thrown > 0 || stats.drops.internal_error > 0) {
  console.error('FAIL: the decoder let an exception escape or hit its internal-error path');
  process.exit(1);
}
