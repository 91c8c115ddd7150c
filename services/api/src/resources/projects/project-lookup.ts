import { findProject, type Project, type Queryable } from '@vigil/db';
import { notFound } from '../../http/error-catalog';

/** The project a path or filter names, within the caller's organization; 404 otherwise. */
export async function requireProject(db: Queryable, organizationId: number, ref: string): Promise<Project> {
  if (/^\d+$/.test(ref) && !Number.isSafeInteger(Number(ref))) throw notFound(`project ${ref}`);
  const project = await findProject(db, organizationId, ref);
  if (!project) throw notFound(`project ${ref}`);
  return project;
}

/** `http(s)://PUBLIC_KEY@HOST:PORT/PROJECT_ID` (CONTRACT.md §4), on the ingest base URL. */
export function formatDsn(base: URL, publicKey: string, projectId: number): string {
  const u = new URL(base);
  u.username = publicKey;
  u.pathname = `${u.pathname.replace(/\/$/, '')}/${projectId}`;
  return u.toString();
}
