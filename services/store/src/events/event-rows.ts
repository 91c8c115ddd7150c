import { isIP } from 'node:net';
import type { EventRecord } from '@vigil/contracts';

/**
 * An event record as the columns of the `events` table, one array per column, so a whole batch is
 * one INSERT … SELECT FROM unnest(…) with 25 parameters however many rows it has (no per-row
 * statement text to parse, no 65535-parameter ceiling).
 *
 * PostgreSQL text and jsonb cannot hold U+0000, which JSON (and so Sentry events) can: such
 * characters are replaced by U+FFFD here rather than losing the event. `raw` keeps the original bytes.
 */
export const EVENT_COLUMNS = [
  ['project_id', 'bigint'],
  ['event_id', 'uuid'],
  ['timestamp_ms', 'float8'],
  ['received_at_ms', 'float8'],
  ['source', 'text'],
  ['class', 'text'],
  ['severity', 'text'],
  ['type', 'text'],
  ['message', 'text'],
  ['exception_type', 'text'],
  ['exception_value', 'text'],
  ['platform', 'text'],
  ['release', 'text'],
  ['environment', 'text'],
  ['tags', 'text'],
  ['user_id', 'text'],
  ['user_email', 'text'],
  ['user_username', 'text'],
  ['user_ip_address', 'inet'],
  ['fingerprint', 'text'],
  ['client_ip', 'inet'],
  ['sdk_name', 'text'],
  ['sdk_version', 'text'],
  ['attributes', 'text'],
  ['raw', 'bytea'],
] as const;

export type EventColumns = unknown[][];

export function toColumns(records: readonly EventRecord[]): EventColumns {
  const columns: unknown[][] = EVENT_COLUMNS.map(() => new Array<unknown>(records.length));
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as EventRecord;
    const user = r.user;
    const row = [
      r.project_id,
      r.event_id,
      r.timestamp_ms,
      r.received_at_ms,
      r.source,
      r.class,
      r.severity,
      text(r.type),
      text(r.message),
      text(r.exception_type),
      text(r.exception_value),
      text(r.platform),
      text(r.release),
      text(r.environment),
      json(r.tags),
      text(user?.id ?? null),
      text(user?.email ?? null),
      text(user?.username ?? null),
      ip(user?.ip_address ?? null),
      textArrayLiteral(r.fingerprint),
      ip(r.client_ip),
      text(r.sdk_name),
      text(r.sdk_version),
      json(r.attributes),
      r.raw,
    ];
    for (let c = 0; c < row.length; c++) (columns[c] as unknown[])[i] = row[c];
  }
  return columns;
}

function text(value: string | null): string | null {
  if (value === null) return null;
  return value.includes('\u0000') ? value.replaceAll('\u0000', '\uFFFD') : value;
}

function ip(value: string | null): string | null {
  return value !== null && isIP(value) !== 0 ? value : null;
}

/** JSON text for a jsonb column; a NUL anywhere means walking the value once to replace it. */
function json(value: unknown): string {
  const out = JSON.stringify(value);
  return out.includes('\\u0000') ? JSON.stringify(withoutNul(value)) : out;
}

function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return text(value);
  if (Array.isArray(value)) return value.map(withoutNul);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[text(k) as string] = withoutNul(v);
    return out;
  }
  return value;
}

/** A PostgreSQL text[] literal (`{"a","b\"c"}`), passed as one text element and cast per row. */
function textArrayLiteral(values: readonly string[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += `"${(text(values[i] as string) as string).replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${out}}`;
}
