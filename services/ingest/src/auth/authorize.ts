import type { IncomingHttpHeaders } from 'node:http';
import { extractAuth, ProtocolError, type SentryAuth } from '@vigil/sentry-protocol';
import type { KeyCache, KeyRecord } from './key-cache';

/** A request's credential, checked against the key table. */
export interface AuthorizedKey {
  auth: SentryAuth;
  key: KeyRecord;
}

export interface CredentialSource {
  projectId: number;
  headers: IncomingHttpHeaders;
  /** Raw query string, with or without `?`. */
  query: string;
  /** The envelope header's `dsn`, once the envelope is parsed. */
  envelopeDsn?: string | null;
}

/**
 * Who may write to `/api/{project_id}/…`: exactly one credential (the protocol package decides
 * which, Relay's rules), naming a key that exists, is active (`invalid_key`, 403 otherwise) and
 * belongs to the project in the path (`project_id_mismatch`, 403). Every endpoint on the ingest
 * port authenticates through this, flows included.
 */
export class Authorizer {
  constructor(private readonly keys: KeyCache) {}

  /** The credential alone (no look-up); throws `missing_auth`, `multiple_auth`, `invalid_auth`… */
  credential(source: CredentialSource): SentryAuth {
    return extractAuth({ projectId: source.projectId, headers: source.headers, query: source.query, envelopeDsn: source.envelopeDsn ?? null });
  }

  /** Checks the key of an extracted credential. Synchronous when the key is cached. */
  authorize(auth: SentryAuth): AuthorizedKey | Promise<AuthorizedKey> {
    const found = this.keys.get(auth.publicKey);
    return found instanceof Promise ? found.then((key) => decide(auth, key)) : decide(auth, found);
  }
}

function decide(auth: SentryAuth, key: KeyRecord | null): AuthorizedKey {
  if (key === null) throw new ProtocolError('invalid_key', 'unknown public key');
  if (!key.active) throw new ProtocolError('invalid_key', 'the public key has been revoked');
  if (key.projectId !== auth.projectId) {
    throw new ProtocolError('project_id_mismatch', `the public key belongs to another project than ${auth.projectId}`);
  }
  return { auth, key };
}
