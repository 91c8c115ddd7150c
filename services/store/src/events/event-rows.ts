import { isIP } from 'node:net';
import type { EventRecord } from '@vigil/contracts';

/**
 * A batch of event records as one JSON array of rows, which the insert statement unpacks with
 * `json_to_recordset`: one parameter however many rows, one `JSON.stringify` (native) on this side
 * and one JSON parse on PostgreSQL's, with tags and attributes passed as JSON rather than as text
 * to re-parse. This is several times cheaper than pg's text-array literals (a regex escape per
 * element, bytea as hex), which dominated the store's CPU. `raw` travels as base64.
 *
 * PostgreSQL text and jsonb hold neither U+0000 nor lone UTF-16 surrogates, both of which JSON
 * (and so Sentry events) can carry; such characters become U+FFFD here rather than losing the
 * event. `raw` keeps the original bytes.
 */
export const EVENT_ROW_COLUMNS = `
  project_id bigint, event_id uuid, timestamp_ms float8, received_at_ms float8, source text, class text,
  severity text, type text, message text, exception_type text, exception_value text, platform text,
  release text, environment text, tags jsonb, user_id text, user_email text, user_username text,
  user_ip_address inet, fingerprint text[], client_ip inet, sdk_name text, sdk_version text,
  attributes jsonb, raw text`;

interface EventRow {
  project_id: number;
  event_id: string;
  timestamp_ms: number;
  received_at_ms: number;
  source: string;
  class: string;
  severity: string;
  type: string;
  message: string | null;
  exception_type: string | null;
  exception_value: string | null;
  platform: string | null;
  release: string | null;
  environment: string | null;
  tags: Record<string, string>;
  user_id: string | null;
  user_email: string | null;
  user_username: string | null;
  user_ip_address: string | null;
  fingerprint: string[];
  client_ip: string | null;
  sdk_name: string | null;
  sdk_version: string | null;
  attributes: Record<string, unknown>;
  /** base64 */
  raw: string;
}

/** JSON text of the rows, ready for `json_to_recordset($1::json)`. */
export function toRecordset(records: readonly EventRecord[]): string {
  const rows: EventRow[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as EventRecord;
    const user = r.user;
    rows[i] = {
      project_id: r.project_id,
      event_id: r.event_id,
      timestamp_ms: r.timestamp_ms,
      received_at_ms: r.received_at_ms,
      source: r.source,
      class: r.class,
      severity: r.severity,
      type: r.type,
      message: r.message,
      exception_type: r.exception_type,
      exception_value: r.exception_value,
      platform: r.platform,
      release: r.release,
      environment: r.environment,
      tags: r.tags,
      user_id: user?.id ?? null,
      user_email: user?.email ?? null,
      user_username: user?.username ?? null,
      user_ip_address: ip(user?.ip_address ?? null),
      fingerprint: r.fingerprint,
      client_ip: ip(r.client_ip),
      sdk_name: r.sdk_name,
      sdk_version: r.sdk_version,
      attributes: r.attributes,
      raw: r.raw.toString('base64'),
    };
  }
  const json = JSON.stringify(rows);
  // JSON.stringify writes U+0000 as \u0000 and lone surrogates as \udXXX: only then walk the rows.
  return json.includes('\\u0000') || /\\ud[89a-f]/i.test(json) ? JSON.stringify(rows.map(storable)) : json;
}

function ip(value: string | null): string | null {
  return value !== null && isIP(value) !== 0 ? value : null;
}

/** The value with every string (keys too) made storable. */
function storable<T>(value: T): T {
  if (typeof value === 'string') return text(value) as T;
  if (Array.isArray(value)) return value.map(storable) as T;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[text(k)] = storable(v);
    return out as T;
  }
  return value;
}

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function text(value: string): string {
  return value.replace(UNSTORABLE, '\uFFFD');
}
