import { ProtocolError } from '../outcomes/protocol-error';

/**
 * A Sentry DSN: `http(s)://PUBLIC_KEY@HOST[:PORT][/PATH]/PROJECT_ID`. The legacy secret
 * (`PUBLIC_KEY:SECRET@…`) is parsed and ignored, as Relay does.
 */
export interface Dsn {
  scheme: 'http' | 'https';
  publicKey: string;
  /** Legacy secret key (old SDKs); never needed for ingestion. */
  secretKey: string | null;
  /** Host name or IP literal (IPv6 in brackets). */
  host: string;
  /** Explicit port, or null when the scheme's default is used. */
  port: number | null;
  /** Path prefix before the project id, without trailing slash (`''` or `/sentry`). */
  path: string;
  projectId: number;
}

/**
 * Public keys Vigil accepts: 1–64 ASCII letters, digits, `-` or `_`. Sentry's own keys (32 hex)
 * fit; anything else (spaces, quotes, non-ASCII) is a malformed credential.
 */
const PUBLIC_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const PROJECT_ID = /^[1-9][0-9]{0,15}$/;

export function isValidPublicKey(key: string): boolean {
  return PUBLIC_KEY.test(key);
}

/** Parses a project id as it appears in a URL path or DSN; null when it is not a positive integer. */
export function parseProjectId(text: string): number | null {
  if (!PROJECT_ID.test(text)) return null;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : null;
}

/** Parses a DSN string; throws `ProtocolError('invalid_auth')` naming what is wrong. */
export function parseDsn(text: string): Dsn {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch (error) {
    throw invalid('not a URL', error);
  }
  const scheme = url.protocol === 'https:' ? 'https' : url.protocol === 'http:' ? 'http' : null;
  if (scheme === null) throw invalid(`unsupported scheme ${JSON.stringify(url.protocol)}`);
  const publicKey = decodeURIComponent(url.username);
  if (publicKey === '') throw invalid('missing public key');
  if (!isValidPublicKey(publicKey)) throw invalid('malformed public key');
  if (url.search !== '' || url.hash !== '') throw invalid('unexpected query or fragment');

  const pathname = url.pathname.replace(/\/+$/, '');
  const cut = pathname.lastIndexOf('/');
  const projectId = parseProjectId(pathname.slice(cut + 1));
  if (projectId === null) throw invalid('missing or malformed project id');

  return {
    scheme,
    publicKey,
    secretKey: url.password === '' ? null : decodeURIComponent(url.password),
    host: url.hostname,
    port: url.port === '' ? null : Number(url.port),
    path: pathname.slice(0, cut),
    projectId,
  };
}

/** Formats a DSN as SDKs expect it (never includes the legacy secret). */
export function formatDsn(dsn: Omit<Dsn, 'secretKey'> & { secretKey?: string | null }): string {
  const port = dsn.port === null ? '' : `:${dsn.port}`;
  return `${dsn.scheme}://${dsn.publicKey}@${dsn.host}${port}${dsn.path}/${dsn.projectId}`;
}

function invalid(what: string, cause?: unknown): ProtocolError {
  return new ProtocolError('invalid_auth', `invalid DSN: ${what}`, {}, cause === undefined ? undefined : { cause });
}
