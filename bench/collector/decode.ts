/**
 * Decode-only throughput: records/s for NetFlow v5, v9 and IPFIX datagrams captured from softflowd,
 * repacked to 30 records per datagram, on one core. Baselines measured in the same run:
 *  - naive:  a straightforward per-field switch decoder producing the same flow objects;
 *  - reads:  a loop that only reads every field with Buffer#readUIntBE and sums it (no output);
 *  - interp: this package with generated code disabled (the plan interpreter).
 *
 *   node --import tsx bench/collector/decode.ts [seconds-per-sample, default 0.25]
 */
import { readFileSync } from 'node:fs';
import { createFlowDecoder, parseNetflowBody, type DecodedFlow } from '@vigil/flow-decoder';

const FIXTURES = new URL('../../packages/flow-decoder/fixtures/', import.meta.url);
const SAMPLE_S = Number(process.argv[2] ?? 0.25);
const RECORDS_PER_DATAGRAM = 30;
const NOW = 1_709_294_500_000;

interface Field {
  id: number;
  length: number;
}

interface Workload {
  name: string;
  /** Datagrams that install templates (decoded once before timing). */
  setup: Buffer[];
  /** Data-only datagrams of 30 records each. */
  data: Buffer[];
  fields: Field[];
  recordLength: number;
  headerLength: number;
}

const loadFixture = (name: string): Buffer[] => parseNetflowBody(readFileSync(new URL(`${name}.netflow`, FIXTURES))).datagrams;

/** Repacks the records of data sets for `templateId` into data-only datagrams of 30 records. */
function repack(name: string, version: 9 | 10, templateId: number): Workload {
  const datagrams = loadFixture(name);
  const headerLength = version === 9 ? 20 : 16;
  const templateSetId = version === 9 ? 0 : 2;
  let fields: Field[] = [];
  const records: Buffer[] = [];
  for (const d of datagrams) {
    let p = headerLength;
    const end = version === 10 ? d.readUInt16BE(2) : d.length;
    while (p + 4 <= end) {
      const id = d.readUInt16BE(p);
      const len = d.readUInt16BE(p + 2);
      if (id === templateSetId) {
        let q = p + 4;
        while (q + 4 <= p + len) {
          const tid = d.readUInt16BE(q);
          const count = d.readUInt16BE(q + 2);
          const list: Field[] = [];
          for (let i = 0; i < count; i++) list.push({ id: d.readUInt16BE(q + 4 + 4 * i), length: d.readUInt16BE(q + 6 + 4 * i) });
          if (tid === templateId) fields = list;
          q += 4 + 4 * count;
        }
      }
      if (id === templateId) {
        const rl = fields.reduce((n, f) => n + f.length, 0);
        for (let r = p + 4; r + rl <= p + len; r += rl) records.push(d.subarray(r, r + rl));
      }
      p += len;
    }
  }
  const recordLength = fields.reduce((n, f) => n + f.length, 0);
  const data: Buffer[] = [];
  for (let i = 0; i + RECORDS_PER_DATAGRAM <= records.length * 4; i += RECORDS_PER_DATAGRAM) {
    const body = Buffer.concat(Array.from({ length: RECORDS_PER_DATAGRAM }, (_, k) => records[(i + k) % records.length]!));
    const head = Buffer.from(datagrams[1]!.subarray(0, headerLength));
    const setHeader = Buffer.alloc(4);
    setHeader.writeUInt16BE(templateId, 0);
    setHeader.writeUInt16BE(4 + body.length, 2);
    const dg = Buffer.concat([head, setHeader, body]);
    if (version === 10) dg.writeUInt16BE(dg.length, 2);
    else dg.writeUInt16BE(RECORDS_PER_DATAGRAM, 2);
    data.push(dg);
  }
  return { name, setup: datagrams.slice(0, 1), data, fields, recordLength, headerLength: headerLength + 4 };
}

function v5Workload(): Workload {
  const datagrams = loadFixture('softflowd-v5').filter((d) => d.readUInt16BE(2) === RECORDS_PER_DATAGRAM);
  const fields = [4, 4, 4, 2, 2, 4, 4, 4, 4, 2, 2, 1, 1, 1, 1, 2, 2, 1, 1, 2].map((length, i) => ({ id: [8, 12, 15, 10, 14, 2, 1, 22, 21, 7, 11, 0, 6, 4, 5, 16, 17, 9, 13, 0][i]!, length }));
  return { name: 'NetFlow v5', setup: [], data: datagrams, fields, recordLength: 48, headerLength: 24 };
}

/** Naive decoding: a switch per field per record into a keyed object, then the same flow shape. */
function naiveDecoder(w: Workload): (d: Buffer) => DecodedFlow[] {
  const toText = (b: Buffer, o: number, len: number): string =>
    len === 4 ? `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}` : Array.from({ length: 8 }, (_, g) => b.readUInt16BE(o + 2 * g).toString(16)).join(':');
  return (d) => {
    const out: DecodedFlow[] = [];
    const version = d.readUInt16BE(0) as 5 | 9 | 10;
    const exportMs = d.readUInt32BE(version === 10 ? 4 : 8) * 1000;
    for (let p = w.headerLength; p + w.recordLength <= d.length; ) {
      const v: Record<number, number | string> = {};
      for (const f of w.fields) {
        switch (f.id) {
          case 8:
          case 12:
          case 15:
          case 27:
          case 28:
            v[f.id] = toText(d, p, f.length);
            break;
          default:
            v[f.id] = f.length <= 6 ? d.readUIntBE(p, f.length) : d.readUInt32BE(p) * 4294967296 + d.readUInt32BE(p + 4);
        }
        p += f.length;
      }
      const num = (id: number): number => (typeof v[id] === 'number' ? (v[id] as number) : 0);
      out.push({
        version,
        observation_domain: 0,
        sequence: 0,
        flow_start_ms: exportMs - num(22),
        flow_end_ms: exportMs - num(21),
        ip_version: v[27] !== undefined ? 6 : 4,
        src_addr: String(v[8] ?? v[27]),
        dst_addr: String(v[12] ?? v[28]),
        src_port: num(7),
        dst_port: num(11),
        protocol: num(4),
        bytes: num(1),
        packets: num(2),
        sampling_rate: 1,
        tcp_flags: num(6),
        tos: num(5),
        input_if: num(10),
        output_if: num(14),
        src_as: num(16),
        dst_as: num(17),
        src_mask: num(9),
        dst_mask: num(13),
        next_hop: typeof v[15] === 'string' ? (v[15] as string) : null,
        flow_direction: v[61] === undefined ? null : num(61),
        biflow_direction: null,
        reverse_bytes: 0,
        reverse_packets: 0,
      });
    }
    return out;
  };
}

/** Only reads every field (no objects, no strings): the floor for touching the bytes. */
function readsOnly(w: Workload): (d: Buffer) => number {
  return (d) => {
    let sum = 0;
    let n = 0;
    for (let p = w.headerLength; p + w.recordLength <= d.length; n++) {
      for (const f of w.fields) {
        sum += f.length <= 6 ? d.readUIntBE(p, f.length) : d.readUInt32BE(p) + d.readUInt32BE(p + 4);
        p += f.length;
      }
    }
    if (sum === -1) console.log('unreachable');
    return n;
  };
}

/**
 * Records per second of each runner over the workload's datagrams. Samples are interleaved (one
 * sample of every runner per round) so that load from other processes hits all runners alike; the
 * first round is warm-up, the median of the rest is reported.
 */
function measure(data: Buffer[], runners: ((d: Buffer) => number)[], rounds = 6): number[] {
  const samples: number[][] = runners.map(() => []);
  for (let round = 0; round < rounds; round++) {
    runners.forEach((run, i) => {
      let records = 0;
      const started = performance.now();
      let elapsed = 0;
      while (elapsed < SAMPLE_S * 1000) {
        for (let k = 0; k < 20; k++) for (const d of data) records += run(d);
        elapsed = performance.now() - started;
      }
      if (round > 0) samples[i]!.push(records / (elapsed / 1000));
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]!);
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(11);

const workloads = [v5Workload(), { ...repack('softflowd-v9', 9, 1024), name: 'NetFlow v9' }, { ...repack('softflowd-ipfix', 10, 1024), name: 'IPFIX' }];
console.log(`decode benchmark: ${RECORDS_PER_DATAGRAM} records/datagram, one core, node ${process.version}`);
console.log(`${'format'.padEnd(11)} ${'vigil'.padStart(11)} ${'interp'.padStart(11)} ${'naive'.padStart(11)} ${'reads'.padStart(11)}  vigil/naive  vigil/reads   (records/s)`);
let ipfixRate = 0;
for (const w of workloads) {
  const check = createFlowDecoder();
  for (const d of w.setup) check.decode(d, 'bench', NOW);
  const probe = check.decode(w.data[0]!, 'bench', NOW);
  if (probe.flows.length !== RECORDS_PER_DATAGRAM) throw new Error(`${w.name}: decoded ${probe.flows.length} of ${RECORDS_PER_DATAGRAM}`);
  if (naiveDecoder(w)(w.data[0]!).length !== RECORDS_PER_DATAGRAM) throw new Error(`${w.name}: naive decoder disagrees`);

  const decoders = [true, false].map((codegen) => {
    const decoder = createFlowDecoder({ codegen });
    for (const d of w.setup) decoder.decode(d, 'bench', NOW);
    return (d: Buffer): number => decoder.decode(d, 'bench', NOW).flows.length;
  });
  const naive = naiveDecoder(w);
  const rates = measure(w.data, [...decoders, (d) => naive(d).length, readsOnly(w)]);
  const [vigil, interp, nv, reads] = rates as [number, number, number, number];
  if (w.name === 'IPFIX') ipfixRate = vigil;
  console.log(`${w.name.padEnd(11)} ${fmt(vigil)} ${fmt(interp)} ${fmt(nv)} ${fmt(reads)}  ${(vigil / nv).toFixed(2).padStart(10)}x  ${(vigil / reads).toFixed(2).padStart(10)}x`);
}
console.log(`goal: >= 1,000,000 IPFIX records/s -> ${ipfixRate >= 1_000_000 ? 'met' : 'NOT met'} (${fmt(ipfixRate).trim()})`);
