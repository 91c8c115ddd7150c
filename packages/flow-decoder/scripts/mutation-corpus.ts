/**
 * Seeds and mutations for hostile-input testing: real softflowd datagrams of every version plus
 * hand-built ones that reach options, withdrawal, enterprise and variable-length paths, and a
 * mutator that favours the bytes decoders trust most (versions, lengths, counts, ids).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseNetflowBody } from '../src/netflow-body';
import { f, ipfix, rec, v9 } from './datagram-builder';

const FIXTURES = new URL('../fixtures/', import.meta.url);

export function seedDatagrams(): Buffer[] {
  const seeds: Buffer[] = [];
  for (const name of readdirSync(FIXTURES).filter((n) => n.endsWith('.netflow')).sort()) {
    seeds.push(...parseNetflowBody(readFileSync(new URL(name, FIXTURES))).datagrams);
  }
  const fields = [f(8, 4), f(12, 4), f(82, 0xffff), f(1, 8), f(2, 4, 29305), f(100, 3, 9), f(22, 4), f(160, 8)];
  seeds.push(
    ipfix.message({ sequence: 5, domain: 3 }, [
      ipfix.templateSet([{ id: 260, fields }], 2),
      ipfix.optionsTemplateSet([{ id: 261, scope: [f(302, 4)], fields: [f(305, 4), f(306, 4), f(160, 8)] }]),
      ipfix.dataSet(261, [rec().u32(1).u32(1).u32(9).u64(1_709_294_000_000).build()]),
      ipfix.dataSet(260, [
        rec().ipv4('1.1.1.1').ipv4('2.2.2.2').varlen(Buffer.from('eth0')).u64(10).u32(1).bytes(Buffer.alloc(3)).u32(5).u64(0).build(),
        rec().ipv4('1.1.1.1').ipv4('2.2.2.2').varlen(Buffer.alloc(300), true).u64(10).u32(1).bytes(Buffer.alloc(3)).u32(5).u64(0).build(),
      ]),
      ipfix.withdrawalSet(2, [260]),
      ipfix.withdrawalSet(3, [3]),
    ]),
    v9.packet({ sequence: 3, sourceId: 9 }, [
      v9.optionsTemplateFlowset({ id: 300, scope: [f(1, 4)], fields: [f(48, 1), f(50, 4)] }, 2),
      v9.dataFlowset(300, [rec().u32(0).u8(1).u32(100).build()], 3),
      v9.templateFlowset([{ id: 301, fields: [f(27, 16), f(28, 16), f(48, 1), f(1, 4), f(22, 4), f(21, 4)] }]),
      v9.dataFlowset(301, [rec().ipv6('2001:db8::1').ipv6('2001:db8::2').u8(1).u32(50).u32(10).u32(20).build()]),
    ]),
  );
  return seeds;
}

const INTERESTING_16 = [0, 1, 2, 3, 4, 5, 9, 10, 15, 16, 20, 255, 256, 257, 0x7fff, 0x8000, 0xfffe, 0xffff];

/** One mutation step, driven by numbers from the property-test generator. */
export interface Mutation {
  kind: 'flip' | 'set16' | 'truncate' | 'append' | 'duplicate' | 'zero';
  at: number;
  value: number;
}

export function mutate(seed: Uint8Array, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(seed);
  for (const m of mutations) {
    if (b.length === 0) break;
    // Half of the positions land in the first 48 bytes, where headers and template records sit.
    const at = m.at % 2 === 0 ? (m.at >>> 1) % Math.min(48, b.length) : (m.at >>> 1) % b.length;
    switch (m.kind) {
      case 'flip':
        b[at] = b[at]! ^ (1 << m.value % 8);
        break;
      case 'set16':
        if (at + 2 <= b.length) b.writeUInt16BE(INTERESTING_16[m.value % INTERESTING_16.length]!, at);
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'append':
        b = Buffer.concat([b, Buffer.alloc(1 + (m.value % 64), m.value & 0xff)]);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + 1 + (m.value % 64)), b.subarray(at)]);
        break;
      case 'zero':
        b.fill(0, at, Math.min(b.length, at + 1 + (m.value % 16)));
        break;
    }
  }
  return b;
}
