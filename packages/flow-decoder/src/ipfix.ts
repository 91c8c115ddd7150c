/**
 * IPFIX (RFC 7011): 16-byte message header whose length is checked against the datagram, then sets:
 * templates (id 2), options templates (id 3) and data (id >= 256). Template records with a field count
 * of 0 are withdrawals (id 2 / 3 withdraws all data / options templates). Enterprise-specific fields
 * carry a 4-byte PEN; RFC 5103 reverse elements are understood, other enterprises skipped by length;
 * 0xffff marks a variable-length field.
 */
import type { DecodeResult, MissingTemplateMode } from './decode-result';
import type { FieldSpec } from './record-plan';
import type { DecoderCore } from './set-handling';

const HEADER = 16;
const TEMPLATE_SET = 2;
const OPTIONS_SET = 3;

/** End offset of `count` field specifiers starting at `at`, or -1 when they overrun `end`. */
function fieldsEnd(dv: DataView, at: number, count: number, end: number): number {
  for (let i = 0; i < count; i++) {
    if (at + 4 > end) return -1;
    const enterprise = (dv.getUint16(at) & 0x8000) !== 0;
    at += enterprise ? 8 : 4;
  }
  return at > end ? -1 : at;
}

function readFields(dv: DataView, at: number, count: number): FieldSpec[] {
  const fields: FieldSpec[] = new Array<FieldSpec>(count);
  for (let i = 0; i < count; i++) {
    const raw = dv.getUint16(at);
    const length = dv.getUint16(at + 2);
    if (raw & 0x8000) {
      fields[i] = { id: raw & 0x7fff, pen: dv.getUint32(at + 4), length };
      at += 8;
    } else {
      fields[i] = { id: raw, pen: 0, length };
      at += 4;
    }
  }
  return fields;
}

const PLAN = { variableLength: true, skipLeading: 0 };

function templateSet(core: DecoderCore, dv: DataView, buf: Uint8Array, result: DecodeResult, p: number, end: number, options: boolean): void {
  const maxFields = core.limits.maxFieldsPerTemplate;
  const setId = options ? OPTIONS_SET : TEMPLATE_SET;
  while (p + 4 <= end) {
    const id = dv.getUint16(p);
    const count = dv.getUint16(p + 2);
    if (count === 0) {
      if (id === 0) return; // padding
      if (id === setId) core.withdrawAll(options);
      else if (id >= 256) core.withdraw(id);
      else core.drop(result, 'template_id_invalid');
      p += 4;
      continue;
    }
    let at = p + 4;
    if (options) {
      if (p + 6 > end) {
        core.drop(result, 'template_malformed');
        return;
      }
      const scopeCount = dv.getUint16(p + 4);
      if (scopeCount === 0 || scopeCount > count) {
        core.drop(result, 'template_malformed');
        return;
      }
      at = p + 6;
    }
    const recordEnd = fieldsEnd(dv, at, count, end);
    if (recordEnd < 0) {
      core.drop(result, 'template_malformed');
      return;
    }
    const fieldsAt = at;
    if (count > maxFields) core.drop(result, 'template_too_many_fields');
    else core.template(id, options, buf, p, recordEnd, () => readFields(dv, fieldsAt, count), PLAN);
    p = recordEnd;
  }
}

export function decodeIpfix(
  core: DecoderCore,
  dv: DataView,
  buf: Uint8Array,
  result: DecodeResult,
  scopeKey: string,
  nowMs: number,
  mode: MissingTemplateMode,
): DecodeResult {
  if (buf.length < HEADER) return core.reject(result, 'too_short');
  const length = dv.getUint16(2);
  if (length < HEADER || length > buf.length) return core.reject(result, 'message_length_mismatch');
  const exportMs = dv.getUint32(4) * 1000;
  const sequence = dv.getUint32(8);
  const domainId = dv.getUint32(12);
  const domain = core.begin(result, scopeKey, { version: 10, domain: domainId, sequence, exportMs, sysUptimeMs: -1 }, nowMs, mode);
  if (domain === undefined) return result;
  core.stats.datagrams.ipfix++;
  let p = HEADER;
  while (p + 4 <= length) {
    const id = dv.getUint16(p);
    const setLength = dv.getUint16(p + 2);
    if (setLength < 4 || p + setLength > length) {
      core.drop(result, 'set_length_invalid');
      p = length;
      break;
    }
    const body = p + 4;
    const setEnd = p + setLength;
    if (id === TEMPLATE_SET) templateSet(core, dv, buf, result, body, setEnd, false);
    else if (id === OPTIONS_SET) templateSet(core, dv, buf, result, body, setEnd, true);
    else if (id < 256) core.drop(result, 'set_id_reserved');
    else core.dataSet(dv, buf, id, body, setEnd);
    p = setEnd;
  }
  // 1-3 bytes left over: the message length does not match its sets.
  if (p !== length) core.drop(result, 'set_length_invalid');
  return core.end(dv, buf, null);
}
