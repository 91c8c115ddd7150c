import { z } from 'zod';
import type { Queryable } from '@vigil/db';
import { ApiError } from '../http/error-catalog';
import { requireProject } from './projects/project-lookup';

/** Query filters shared by the event, flow and alert lists. */

/** `a` or `a,b,c` of a fixed set of values. */
export function oneOrMore<T extends string>(values: readonly [T, ...T[]], what: string) {
  const alternatives = values.join('|');
  return z
    .string()
    .regex(new RegExp(`^(${alternatives})(,(${alternatives}))*$`), `expected ${what}: one or more of ${values.join(', ')}, comma-separated`)
    .transform((s) => [...new Set(s.split(','))] as T[]);
}

export const timeBound = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

export const timeRangeQuery = {
  since: timeBound.optional().meta({ description: 'Only from this time on (inclusive), RFC 3339.' }),
  until: timeBound.optional().meta({ description: 'Only before this time (exclusive), RFC 3339.' }),
};

export function checkTimeRange(since: Date | undefined, until: Date | undefined): void {
  if (since && until && since >= until) throw new ApiError('validation_error', undefined, [{ field: 'until', message: 'must be after since' }]);
}

/**
 * The projects a query reads: the given ids, or every project of an organization, which the query
 * looks up itself (a subquery on projects, not a round trip of its own before it).
 */
export type ProjectScope = readonly number[] | { readonly organizationId: number };

/**
 * The projects a tenant's query may read: the one named (404 when it is not the organization's —
 * filtering on another organization's project reveals nothing), or all of the organization's.
 */
export async function scopeProjects(db: Queryable, organizationId: number, project: string | undefined): Promise<ProjectScope> {
  if (project !== undefined) return [(await requireProject(db, organizationId, project)).id];
  return { organizationId };
}

/** The scope as an SQL bigint[] expression; its parameter is appended to `params`. */
export function projectIdsSql(scope: ProjectScope, params: unknown[]): string {
  if ('organizationId' in scope) return `array(select id from projects where organization_id = $${params.push(scope.organizationId)} order by id)`;
  return `$${params.push(scope)}::bigint[]`;
}

/** The one project of a scope naming exactly one, else undefined. */
export const soleProject = (scope: ProjectScope): number | undefined => ('organizationId' in scope || scope.length !== 1 ? undefined : scope[0]);

/** A scope of no project at all (nothing to read). */
export const noProjects = (scope: ProjectScope): boolean => !('organizationId' in scope) && scope.length === 0;
