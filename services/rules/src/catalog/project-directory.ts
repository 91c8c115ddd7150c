/**
 * Which organization a project belongs to: a record is evaluated against the rules of its project's
 * organization (its project's rules and the organization-wide ones), never another's. The whole
 * projects table is cached and re-read when a record names a project it does not know — at most
 * once per `refreshAfterMs`, so a flood of records for a deleted project does not flood PostgreSQL.
 */
import type { Pool } from '@vigil/db';

export class ProjectDirectory {
  private organizations = new Map<number, number>();
  private lastRead = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly refreshAfterMs = 1000,
  ) {}

  /** Makes sure every project of `projectIds` is known, if it exists. */
  async resolve(projectIds: Iterable<number>): Promise<void> {
    for (const id of projectIds) {
      if (this.organizations.has(id)) continue;
      if (Date.now() - this.lastRead < this.refreshAfterMs) return;
      await this.read();
      return;
    }
  }

  /** The project's organization, or null for a project that does not exist (as of the last read). */
  organizationOf(projectId: number): number | null {
    return this.organizations.get(projectId) ?? null;
  }

  private read(): Promise<void> {
    this.reading ??= (async () => {
      try {
        const { rows } = await this.pool.query<{ id: number; organization_id: number }>('select id, organization_id from projects');
        this.organizations = new Map(rows.map((r) => [r.id, r.organization_id]));
        this.lastRead = Date.now();
      } finally {
        this.reading = null;
      }
    })();
    return this.reading;
  }
}
