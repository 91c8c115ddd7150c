/**
 * Content types per endpoint. Besides the proper ones, each endpoint takes the three types a
 * browser may send cross-origin without a CORS preflight (`text/plain`,
 * `application/x-www-form-urlencoded`, `multipart/form-data`) — browser SDKs and `sendBeacon` use
 * them to save the extra round trip — and requests without a `Content-Type` (the Node SDK sends
 * none). The body is read as the endpoint's format whatever the declared type; anything else is
 * refused with 415, so a misdirected upload is not mistaken for an event.
 */
const BROWSER_SIMPLE = ['', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'];

export const ENVELOPE_MEDIA_TYPES: ReadonlySet<string> = new Set([
  ...BROWSER_SIMPLE,
  'application/x-sentry-envelope',
  'application/octet-stream',
  'application/json',
]);

export const STORE_MEDIA_TYPES: ReadonlySet<string> = new Set([...BROWSER_SIMPLE, 'application/json', 'application/octet-stream']);

export const NDJSON_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
]);

export const NATIVE_MEDIA_TYPES: ReadonlySet<string> = new Set([...BROWSER_SIMPLE, 'application/json', ...NDJSON_MEDIA_TYPES]);

/** `Application/JSON; charset=utf-8` → `application/json`; '' when absent. */
export function mediaTypeOf(header: string | undefined): string {
  if (header === undefined) return '';
  const semi = header.indexOf(';');
  return (semi < 0 ? header : header.slice(0, semi)).trim().toLowerCase();
}
