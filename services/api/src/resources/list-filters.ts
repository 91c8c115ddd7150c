import { z } from 'zod';
import { organizationProjectIds, type Queryable } from '@vigil/db';
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
 * The projects a tenant's query may read: the one named (404 when it is not the organization's —
 * filtering on another organization's project reveals nothing), or all of the organization's.
 */
export async function scopeProjects(db: Queryable, organizationId: number, project: string | undefined): Promise<number[]> {
  if (project !== undefined) return [(await requireProject(db, organizationId, project)).id];
  return organizationProjectIds(db, organizationId);
}
