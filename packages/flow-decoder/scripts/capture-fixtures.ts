/**
 * Regenerates `fixtures/`: writes the scenario pcap, exports it with softflowd in each configuration
 * and with pmacct's nfprobe (NetFlow v9 and IPFIX),
 * saves the export (`<name>.netflow`: 2-byte length-prefixed datagrams, the `application/x-netflow`
 * body format; `<name>.ipfix-stream`: raw IPFIX-over-TCP bytes) and tshark's independent reading of it
 * (`<name>.tshark.json`).
 *
 *   node --import tsx packages/flow-decoder/scripts/capture-fixtures.ts
 *
 * Needs softflowd, pmacct and tshark (Debian packages of the same names).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePcap } from './pcap-writer';
import { scenarioPackets } from './scenario';
import { runPmacctNfprobe } from './pmacct-export';
import { lengthPrefixed, runSoftflowd, runSoftflowdTcp } from './softflowd-export';
import { tsharkExpectations } from './tshark-expectations';

export const SOFTFLOWD_CONFIGS: readonly { name: string; args: readonly string[] }[] = [
  { name: 'softflowd-v5', args: ['-v', '5'] },
  { name: 'softflowd-v5-sampled', args: ['-v', '5', '-s', '10'] },
  { name: 'softflowd-v9', args: ['-v', '9'] },
  { name: 'softflowd-v9-sampled', args: ['-v', '9', '-s', '10'] },
  { name: 'softflowd-ipfix', args: ['-v', '10'] },
  { name: 'softflowd-ipfix-biflow', args: ['-v', '10', '-b'] },
  { name: 'softflowd-ipfix-sec', args: ['-v', '10', '-A', 'sec'] },
  { name: 'softflowd-ipfix-milli', args: ['-v', '10', '-A', 'milli'] },
  { name: 'softflowd-ipfix-micro', args: ['-v', '10', '-A', 'micro'] },
  { name: 'softflowd-ipfix-nano', args: ['-v', '10', '-A', 'nano'] },
  { name: 'softflowd-ipfix-sampled', args: ['-v', '10', '-s', '10'] },
];

const PCAP = '/tmp/vfd.pcap';

async function main(): Promise<void> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
  mkdirSync(dir, { recursive: true });
  writeFileSync(PCAP, writePcap(scenarioPackets()));
  for (const cfg of SOFTFLOWD_CONFIGS) {
    // -a: flow times follow the pcap's clock, so they can be compared with the scenario.
    const datagrams = await runSoftflowd({ pcapPath: PCAP, args: ['-a', ...cfg.args] });
    writeFileSync(join(dir, `${cfg.name}.netflow`), lengthPrefixed(datagrams));
    const expected = tsharkExpectations(datagrams, '/tmp/vfd-export.pcap');
    writeFileSync(join(dir, `${cfg.name}.tshark.json`), compactJson(expected));
    console.log(`${cfg.name}: ${datagrams.length} datagrams, ${expected.flows.length} flow records`);
  }
  for (const version of [9, 10] as const) {
    const name = version === 9 ? 'pmacct-v9' : 'pmacct-ipfix';
    const datagrams = await runPmacctNfprobe({ pcapPath: PCAP, version });
    writeFileSync(join(dir, `${name}.netflow`), lengthPrefixed(datagrams));
    const expected = tsharkExpectations(datagrams, '/tmp/vfd-export.pcap');
    writeFileSync(join(dir, `${name}.tshark.json`), compactJson(expected));
    console.log(`${name}: ${datagrams.length} datagrams, ${expected.flows.length} flow records`);
  }
  const stream = await runSoftflowdTcp({ pcapPath: PCAP, args: ['-a', '-v', '10'] });
  writeFileSync(join(dir, 'softflowd-ipfix-tcp.ipfix-stream'), stream);
  console.log(`softflowd-ipfix-tcp: ${stream.length} bytes`);
}

/** One record per line keeps the files diff-friendly and small. */
function compactJson(e: ReturnType<typeof tsharkExpectations>): string {
  const lines = [
    '{"datagrams": [',
    e.datagrams.map((d) => JSON.stringify(d)).join(',\n'),
    '], "flows": [',
    e.flows.map((f) => JSON.stringify(f)).join(',\n'),
    ']}',
  ];
  return lines.join('\n') + '\n';
}

await main();
