import { parseDsn, isValidPublicKey, type Dsn } from './dsn';
import { ProtocolError } from '../outcomes/protocol-error';

/**
 * Where the credential was found. Relay's order and rules: `X-Sentry-Auth`, then
 * `Authorization: Sentry …`, then `sentry_*` query parameters; the envelope header `dsn` only
 * authenticates when none of those is present.
 */
export type AuthSource = 'x-sentry-auth' | 'authorization' | 'query' | 'envelope_dsn';

export interface SentryAuth {
  publicKey: string;
  source: AuthSource;
  /** The project id from the request path. */
  projectId: number;
  /** `sentry_version`; 7 when the client did not say. */
  version: number;
  /** `sentry_client`, e.g. `sentry.javascript.node/11.12.0`. */
  client: string | null;
}

type HeaderValue = string | readonly string[] | undefined;

export interface AuthRequest {
  /** Project id taken from `/api/{project_id}/…`. */
  projectId: number;
  /** Request headers with lower-case names (a Node `IncomingHttpHeaders` fits). */
  headers: Readonly<Record<string, HeaderValue>>;
  /** The raw query string, with or without the leading `?`. */
  query?: string | null;
  /**
   * The `dsn` from the envelope header (envelope endpoint only). A request with no other
   * credential fails with `missing_auth` until the envelope has been parsed and this is passed.
   */
  envelopeDsn?: string | null;
}

/** Highest protocol version Vigil speaks, as Relay (`sentry_version=7`). */
export const PROTOCOL_VERSION = 7;

/**
 * Decides which public key authenticates a request, or throws a `ProtocolError`:
 * - `missing_auth` when there is no credential at all;
 * - `multiple_auth` when more than one request-level source is present — even carrying the same
 *   key, exactly as Relay counts sources, not keys — or when the envelope DSN names a different
 *   key than the request;
 * - `invalid_auth` for a malformed header, query or DSN; `unsupported_protocol_version` above 7;
 * - `project_id_mismatch` when the envelope DSN names another project than the path.
 *
 * An envelope DSN with the same key as the request credential is accepted (tunnels and some SDKs
 * send both); the result then names the request-level source.
 */
export function extractAuth(request: AuthRequest): SentryAuth {
  const found: Array<{ source: AuthSource; pairs: Map<string, string> }> = [];

  for (const [name, source] of [
    ['x-sentry-auth', 'x-sentry-auth'],
    ['authorization', 'authorization'],
  ] as const) {
    const value = request.headers[name];
    if (value === undefined) continue;
    const values = typeof value === 'string' ? [value] : value;
    for (const v of values) {
      if (isSentryScheme(v)) found.push({ source, pairs: parseAuthHeader(v) });
    }
  }

  const query = request.query ?? '';
  if (query !== '') {
    const pairs = parseAuthQuery(query);
    if (pairs !== null) found.push({ source: 'query', pairs });
  }

  if (found.length > 1) {
    const sources = found.map((f) => f.source).join(', ');
    throw new ProtocolError('multiple_auth', `multiple authorization payloads detected (${sources})`);
  }

  const dsn = request.envelopeDsn == null ? null : envelopeDsnFor(request.envelopeDsn, request.projectId);

  const only = found[0];
  if (only === undefined) {
    if (dsn === null) throw new ProtocolError('missing_auth');
    return {
      publicKey: dsn.publicKey,
      source: 'envelope_dsn',
      projectId: request.projectId,
      version: PROTOCOL_VERSION,
      client: null,
    };
  }

  const auth = authFromPairs(only.source, only.pairs, request.projectId);
  if (dsn !== null) sameKey(dsn, auth);
  return auth;
}

/**
 * The envelope-DSN half of `extractAuth` for a request whose own credential was already extracted
 * (without the DSN, before the body was read): throws exactly what `extractAuth` with both would,
 * without parsing the request's headers and query a second time.
 */
export function checkEnvelopeDsn(auth: SentryAuth, envelopeDsn: string, projectId: number): void {
  sameKey(envelopeDsnFor(envelopeDsn, projectId), auth);
}

function envelopeDsnFor(text: string, projectId: number): Readonly<Dsn> {
  const dsn = parseEnvelopeDsn(text);
  if (dsn.projectId !== projectId) {
    throw new ProtocolError('project_id_mismatch', `envelope DSN names project ${dsn.projectId}, the request path project ${projectId}`);
  }
  return dsn;
}

function sameKey(dsn: Dsn, auth: SentryAuth): void {
  if (dsn.publicKey !== auth.publicKey) {
    throw new ProtocolError('multiple_auth', 'envelope DSN names a different public key than the request');
  }
}

function isSentryScheme(value: string): boolean {
  return value.length >= 7 && value.slice(0, 7).toLowerCase() === 'sentry ';
}

/** `Sentry sentry_key=…, sentry_version=7, sentry_client=…` → pairs (Relay's splitting rules). */
function parseAuthHeader(value: string): Map<string, string> {
  const pairs = new Map<string, string>();
  for (const item of value.slice(7).split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    let v = item.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    setPair(pairs, key, v);
  }
  return pairs;
}

/** Query parameters count as a credential when any of them is named `sentry_*`, as in Relay. */
function parseAuthQuery(query: string): Map<string, string> | null {
  const params = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  let pairs: Map<string, string> | null = null;
  for (const [key, value] of params) {
    if (!key.startsWith('sentry_')) continue;
    pairs ??= new Map();
    setPair(pairs, key, value);
  }
  return pairs;
}

function setPair(pairs: Map<string, string>, key: string, value: string): void {
  const previous = pairs.get(key);
  if (key === 'sentry_key' && previous !== undefined && previous !== value) {
    throw new ProtocolError('multiple_auth', 'two different sentry_key values in one credential');
  }
  pairs.set(key, value);
}

function authFromPairs(source: AuthSource, pairs: Map<string, string>, projectId: number): SentryAuth {
  const publicKey = pairs.get('sentry_key') ?? '';
  if (publicKey === '') throw new ProtocolError('invalid_auth', `missing sentry_key in ${source}`);
  if (!isValidPublicKey(publicKey)) throw new ProtocolError('invalid_auth', `malformed sentry_key in ${source}`);

  let version = PROTOCOL_VERSION;
  const rawVersion = pairs.get('sentry_version');
  if (rawVersion !== undefined) {
    // Relay reads the part before the first dot ("7.0" is 7).
    const major = rawVersion.split('.', 1)[0] ?? '';
    if (!/^[0-9]{1,5}$/.test(major)) throw new ProtocolError('invalid_auth', `invalid sentry_version in ${source}`);
    version = Number(major);
  }
  if (version > PROTOCOL_VERSION) {
    throw new ProtocolError('unsupported_protocol_version', `unsupported protocol version (${version})`);
  }
  const client = pairs.get('sentry_client');
  return { publicKey, source, projectId, version, client: client === undefined || client === '' ? null : client };
}

/**
 * Envelope DSNs parsed so far: an SDK sends the same DSN in every envelope, and parsing it (a URL)
 * is most of the cost of checking it. Only valid DSNs are kept, at most `DSN_CACHE_MAX` (the cache
 * starts over when full, so many distinct DSNs only cost what they did without it).
 */
const parsedDsns = new Map<string, Readonly<Dsn>>();
const DSN_CACHE_MAX = 1024;

function parseEnvelopeDsn(text: string): Readonly<Dsn> {
  const cached = parsedDsns.get(text);
  if (cached !== undefined) return cached;
  try {
    const dsn = Object.freeze(parseDsn(text));
    if (parsedDsns.size >= DSN_CACHE_MAX) parsedDsns.clear();
    parsedDsns.set(text, dsn);
    return dsn;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ProtocolError('invalid_auth', `bad envelope authentication header: ${message}`, {}, { cause: error });
  }
}
