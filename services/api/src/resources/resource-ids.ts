import { z } from 'zod';

/** Path and body identifiers shared by the resources. */
export const numericId = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const uuidId = z.uuid();
/** A project in a path or filter: its numeric id, or its slug. */
export const projectRef = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected a project id or slug')
  .meta({ description: 'Project id (digits) or slug.' });

/** Timestamps in responses: RFC 3339 in UTC. */
export const timestamp = z.iso.datetime();
export const nullableTimestamp = timestamp.nullable();
export const iso = (d: Date) => d.toISOString();
export const isoOrNull = (d: Date | null) => (d ? d.toISOString() : null);
