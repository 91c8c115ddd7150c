import { parseProjectId } from '@vigil/sentry-protocol';

export interface IngestRoute {
  /** The endpoint name: `envelope`, `store`, `events` (and later `flows`). */
  endpoint: string;
  projectId: number;
  /** The query string including `?`, or ''. */
  query: string;
}

const API_PATH = /^\/api\/([^/]+)\/([a-z_]+)\/?$/;

/** `/api/{project_id}/{endpoint}/[?query]` → its parts; null for any other path or a bad project id. */
export function matchIngestRoute(url: string): IngestRoute | null {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const m = API_PATH.exec(path);
  if (m === null) return null;
  const projectId = parseProjectId(m[1] as string);
  if (projectId === null) return null;
  return { endpoint: m[2] as string, projectId, query: q < 0 ? '' : url.slice(q) };
}
