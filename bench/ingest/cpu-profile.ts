/**
 * Where the time goes, from a V8 `.cpuprofile` (`node --cpu-prof`): self time per function and per
 * area (Node's HTTP and sockets, kafkajs, Avro, the Sentry protocol, ingest's own code, metrics,
 * GC…), as shares of the busy (non-idle) time.
 *
 * Run on its own: node --import tsx bench/ingest/cpu-profile.ts <file.cpuprofile>
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const AREAS: Array<[string, RegExp]> = [
  ['kafkajs (produce requests, record batches, CRC)', /node_modules\/kafkajs\//],
  ['avro encoding (avsc, schema registry)', /node_modules\/(avsc|@kafkajs\/confluent-schema-registry)\//],
  ['prom-client', /node_modules\/prom-client\//],
  ['ioredis', /node_modules\/(ioredis|@ioredis|redis-parser)\//],
  ['pg', /node_modules\/pg/],
  ['sentry-protocol (auth, envelope, normalize)', /packages\/sentry-protocol\//],
  ['ingest service code', /services\/ingest\//],
  ['vigil packages (kafka, contracts…)', /packages\//],
  ['node http', /node:_http|node:internal\/http|node:http/],
  ['node net/streams/timers', /node:(net|stream|internal\/streams|internal\/timers|events|internal\/process|timers|buffer)/],
  ['node (other internals)', /^node:/],
  ['other modules', /node_modules/],
];

/** Code that calls into Node and V8: a sample is charged to the nearest of these on its stack. */
const OWNERS = AREAS.slice(0, 8);

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  areas: Array<{ area: string; ms: number; share: number }>;
  /** Each sample charged to the nearest library or Vigil code on its stack (Node and V8 work they caused included). */
  owners: Array<{ area: string; ms: number; share: number }>;
  functions: Array<{ name: string; ms: number; share: number }>;
}

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownerOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const url = (byId.get(at) as ProfileNode).callFrame.url;
      const owner = OWNERS.find(([, re]) => re.test(url));
      if (owner) return owner[0];
    }
    return 'node http/net/streams (no library or Vigil code on the stack)';
  };
  const owners = new Map<string, number>();
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  let idle = 0;
  let busy = 0;
  const areas = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, ms] of self) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    if (frame.functionName === '(idle)') {
      idle += ms;
      continue;
    }
    busy += ms;
    const owner = frame.functionName === '(garbage collector)' || frame.functionName === '(program)' ? frame.functionName : ownerOf(id);
    owners.set(owner, (owners.get(owner) ?? 0) + ms);
    const special = frame.functionName.startsWith('(') ? frame.functionName : null;
    const area = special ?? AREAS.find(([, re]) => re.test(frame.url))?.[0] ?? (frame.url === '' ? 'native (V8 builtins, JSON, zlib…)' : 'other');
    areas.set(area, (areas.get(area) ?? 0) + ms);
    const where = frame.url.replace(/^.*\/(node_modules|packages|services)\//, '$1/').replace(/^file:\/\//, '');
    const name = `${frame.functionName || '(anonymous)'} ${where ? `${where}:${frame.lineNumber + 1}` : ''}`.trim();
    functions.set(name, (functions.get(name) ?? 0) + ms);
  }
  const rank = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([k, ms]) => ({ k, ms, share: ms / busy }));
  return {
    busyMs: busy,
    idleMs: idle,
    areas: rank(areas).map(({ k, ms, share }) => ({ area: k, ms, share })),
    owners: rank(owners).map(({ k, ms, share }) => ({ area: k, ms, share })),
    functions: rank(functions)
      .slice(0, top)
      .map(({ k, ms, share }) => ({ name: k, ms, share })),
  };
}

export function printProfile(summary: ProfileSummary): void {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
  console.log(`  busy ${(summary.busyMs / 1000).toFixed(1)} s, idle ${(summary.idleMs / 1000).toFixed(1)} s`);
  console.log('  by area (self time, share of busy):');
  for (const a of summary.areas) console.log(`    ${pct(a.share)}  ${a.area}`);
  console.log('  charged to the nearest library or Vigil code on the stack:');
  for (const a of summary.owners) console.log(`    ${pct(a.share)}  ${a.area}`);
  console.log('  top functions:');
  for (const f of summary.functions) console.log(`    ${pct(f.share)}  ${f.name}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  printProfile(summarizeProfile(process.argv[2] as string, 25));
}
