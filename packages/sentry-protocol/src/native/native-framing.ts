import { ProtocolError } from '../outcomes/protocol-error';

/**
 * How a native events body splits into records: one JSON object, a JSON array of objects, or
 * NDJSON (one object per line, blank lines ignored). Each record keeps its exact bytes: a line of
 * the NDJSON body or the span of the array element, located by a scan of the array's top level.
 */

export type NativeFormat = 'json' | 'ndjson' | 'auto';

export interface NativeRecord {
  value: unknown;
  raw: Buffer;
}

export function splitNativeRecords(body: Buffer, format: NativeFormat): NativeRecord[] {
  const start = firstNonSpace(body, 0);
  if (start >= body.length) return [];
  if (format === 'ndjson') return splitLines(body);
  if (format === 'json' || body[start] === 0x5b /* [ */) return splitJson(body);
  // `auto` with an object first: one JSON object, or NDJSON when more follows on later lines.
  try {
    return [{ value: JSON.parse(body.toString('utf8')), raw: trim(body) }];
  } catch (error) {
    if (body.indexOf(0x0a, start) < 0) throw invalidJson('body is not valid JSON', error);
    return splitLines(body);
  }
}

function splitJson(body: Buffer): NativeRecord[] {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw invalidJson('body is not valid JSON', error);
  }
  if (!Array.isArray(value)) return [{ value, raw: trim(body) }];
  const spans = arrayElementSpans(body);
  return value.map((element, index) => {
    const span = spans?.length === value.length ? spans[index] : undefined;
    const raw = span === undefined ? Buffer.from(JSON.stringify(element)) : body.subarray(span[0], span[1]);
    return { value: element, raw };
  });
}

function splitLines(body: Buffer): NativeRecord[] {
  const records: NativeRecord[] = [];
  let offset = 0;
  let line = 0;
  while (offset < body.length) {
    const nl = body.indexOf(0x0a, offset);
    const end = nl < 0 ? body.length : nl;
    line++;
    const raw = trim(body.subarray(offset, end));
    offset = end + 1;
    if (raw.length === 0) continue;
    try {
      records.push({ value: JSON.parse(raw.toString('utf8')), raw });
    } catch (error) {
      throw invalidJson(`event ${records.length} (line ${line}) is not valid JSON`, error, records.length);
    }
  }
  return records;
}

/**
 * Start/end offsets of the top-level elements of a JSON array already known to be valid. Returns
 * null if the scan disagrees with the parser (then records are re-serialized instead).
 */
function arrayElementSpans(body: Buffer): Array<[number, number]> | null {
  const spans: Array<[number, number]> = [];
  let depth = 0;
  let inString = false;
  let elementStart = -1;
  let lastNonSpace = -1;
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as number;
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) {
        inString = false;
        lastNonSpace = i;
      }
      continue;
    }
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (depth === 1 && elementStart < 0 && c !== 0x5d && c !== 0x2c) elementStart = i;
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) depth++;
    else if (c === 0x5d || c === 0x7d) {
      depth--;
      if (depth === 0) {
        if (elementStart >= 0) spans.push([elementStart, lastNonSpace + 1]);
        return spans;
      }
    } else if (c === 0x2c && depth === 1) {
      if (elementStart < 0) return null;
      spans.push([elementStart, lastNonSpace + 1]);
      elementStart = -1;
    }
    lastNonSpace = i;
  }
  return null;
}

function invalidJson(message: string, cause: unknown, record?: number): ProtocolError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  const details = record === undefined ? {} : { issues: [{ record, message: detail }] };
  return new ProtocolError('invalid_json', message, details, { cause });
}

function firstNonSpace(body: Buffer, offset: number): number {
  while (offset < body.length && isSpace(body[offset])) offset++;
  return offset;
}

function trim(body: Buffer): Buffer {
  let start = 0;
  let end = body.length;
  while (start < end && isSpace(body[start])) start++;
  while (end > start && isSpace(body[end - 1])) end--;
  return body.subarray(start, end);
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
