/**
 * NetFlow v9 (RFC 3954): 20-byte header, then flowsets: templates (id 0), options templates (id 1)
 * and data (id >= 256). Lengths are checked against the flowset before anything is read, padding at
 * the end of a flowset is skipped, and a flowset that cannot be trusted ends the datagram.
 */
import type { DecodeResult, MissingTemplateMode } from './decode-result';
import type { FieldSpec } from './record-plan';
import type { DecoderCore } from './set-handling';

const HEADER = 20;

function readFields(dv: DataView, at: number, count: number): FieldSpec[] {
  const fields: FieldSpec[] = new Array<FieldSpec>(count);
  for (let i = 0; i < count; i++) fields[i] = { id: dv.getUint16(at + 4 * i), pen: 0, length: dv.getUint16(at + 4 * i + 2) };
  return fields;
}

function templateFlowset(core: DecoderCore, dv: DataView, buf: Uint8Array, result: DecodeResult, p: number, end: number): void {
  const maxFields = core.limits.maxFieldsPerTemplate;
  while (p + 4 <= end) {
    const id = dv.getUint16(p);
    const count = dv.getUint16(p + 2);
    if (id === 0 && count === 0) return; // padding
    const recordEnd = p + 4 + count * 4;
    if (count === 0 || recordEnd > end) {
      core.drop(result, 'template_malformed');
      return;
    }
    if (count > maxFields) core.drop(result, 'template_too_many_fields');
    else core.template(id, false, buf, p, recordEnd, () => readFields(dv, p + 4, count), { variableLength: false, skipLeading: 0 });
    p = recordEnd;
  }
}

function optionsFlowset(core: DecoderCore, dv: DataView, buf: Uint8Array, result: DecodeResult, p: number, end: number): void {
  const maxFields = core.limits.maxFieldsPerTemplate;
  while (p + 6 <= end) {
    const id = dv.getUint16(p);
    if (id === 0) return; // padding
    const scopeLength = dv.getUint16(p + 2);
    const optionLength = dv.getUint16(p + 4);
    const recordEnd = p + 6 + scopeLength + optionLength;
    if (scopeLength % 4 !== 0 || optionLength % 4 !== 0 || scopeLength + optionLength === 0 || recordEnd > end) {
      core.drop(result, 'template_malformed');
      return;
    }
    const count = (scopeLength + optionLength) / 4;
    const scopeCount = scopeLength / 4;
    const at = p + 6;
    if (count > maxFields) core.drop(result, 'template_too_many_fields');
    // Scope field types (system, interface, line card, cache, template) are not Information Elements: skipped.
    else core.template(id, true, buf, p, recordEnd, () => readFields(dv, at, count), { variableLength: false, skipLeading: scopeCount });
    p = recordEnd;
  }
}

export function decodeV9(
  core: DecoderCore,
  dv: DataView,
  buf: Uint8Array,
  result: DecodeResult,
  scopeKey: string,
  nowMs: number,
  mode: MissingTemplateMode,
): DecodeResult {
  if (buf.length < HEADER) return core.reject(result, 'too_short');
  const sysUptimeMs = dv.getUint32(4);
  const exportMs = dv.getUint32(8) * 1000;
  const sequence = dv.getUint32(12);
  const sourceId = dv.getUint32(16);
  const domain = core.begin(result, scopeKey, { version: 9, domain: sourceId, sequence, exportMs, sysUptimeMs }, nowMs, mode);
  if (domain === undefined) return result;
  core.stats.datagrams.v9++;
  const end = buf.length;
  let p = HEADER;
  while (p + 4 <= end) {
    const id = dv.getUint16(p);
    const length = dv.getUint16(p + 2);
    if (length < 4 || p + length > end) {
      core.drop(result, 'set_length_invalid');
      break;
    }
    const body = p + 4;
    const setEnd = p + length;
    if (id === 0) templateFlowset(core, dv, buf, result, body, setEnd);
    else if (id === 1) optionsFlowset(core, dv, buf, result, body, setEnd);
    else if (id < 256) core.drop(result, 'set_id_reserved');
    else core.dataSet(dv, buf, id, body, setEnd);
    p = setEnd;
  }
  return core.end(dv, buf, 1);
}
