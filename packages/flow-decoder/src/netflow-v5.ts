/**
 * NetFlow v5: a 24-byte header and fixed 48-byte records. The record layout is expressed as a
 * template of the equivalent NetFlow v9 field types, so v5 runs through the same compiled record
 * decoder and normalizer as v9 and IPFIX.
 */
import type { DecodeResult, MissingTemplateMode } from './decode-result';
import { buildPlan, type FieldSpec } from './record-plan';
import type { DecoderCore } from './set-handling';
import type { Template } from './template-cache';

const HEADER = 24;
const RECORD = 48;
/** Field type with no meaning to the decoder, used for the padding bytes. */
const PAD = 210;

const V5_FIELDS: readonly FieldSpec[] = (
  [
    [8, 4], // srcaddr
    [12, 4], // dstaddr
    [15, 4], // nexthop
    [10, 2], // input
    [14, 2], // output
    [2, 4], // dPkts
    [1, 4], // dOctets
    [22, 4], // First
    [21, 4], // Last
    [7, 2], // srcport
    [11, 2], // dstport
    [PAD, 1],
    [6, 1], // tcp_flags
    [4, 1], // prot
    [5, 1], // tos
    [16, 2], // src_as
    [17, 2], // dst_as
    [9, 1], // src_mask
    [13, 1], // dst_mask
    [PAD, 2],
  ] as const
).map(([id, length]) => ({ id, pen: 0, length }));

export const V5_PLAN = buildPlan(V5_FIELDS, { variableLength: false, skipLeading: 0 });

export function decodeV5(
  core: DecoderCore,
  v5: Template,
  dv: DataView,
  buf: Uint8Array,
  result: DecodeResult,
  scopeKey: string,
  nowMs: number,
  mode: MissingTemplateMode,
): DecodeResult {
  if (buf.length < HEADER) return core.reject(result, 'too_short');
  const count = dv.getUint16(2);
  if (count === 0 || HEADER + count * RECORD > buf.length) return core.reject(result, 'bad_record_count');
  const sysUptimeMs = dv.getUint32(4);
  const exportMs = dv.getUint32(8) * 1000 + Math.floor(dv.getUint32(12) / 1_000_000);
  const sequence = dv.getUint32(16);
  const domainId = (buf[20]! << 8) | buf[21]!;
  // Top two bits: sampling mode; low 14 bits: interval (0 = not sampled).
  const interval = dv.getUint16(22) & 0x3fff;
  const domain = core.begin(result, scopeKey, { version: 5, domain: domainId, sequence, exportMs, sysUptimeMs }, nowMs, mode);
  if (domain === undefined) return result;
  domain.sampling.learn(interval > 0 ? interval : 1, -1, 0);
  core.stats.datagrams.v5++;
  core.runSet(v5, dv, buf, HEADER, HEADER + count * RECORD);
  return core.end(dv, buf, count);
}
