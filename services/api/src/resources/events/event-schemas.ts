import { EVENT_CLASSES, SEVERITIES } from '@vigil/contracts';
import { z } from 'zod';
import { cursorQuery } from '../../http/pagination';
import { projectRef, timestamp } from '../resource-ids';
import { oneOrMore, timeRangeQuery } from '../list-filters';

export const eventSchema = z
  .object({
    id: z.string().regex(/^[0-9a-f]{32}$/).meta({ description: 'The event id (32 hex digits), as ingest answered it.' }),
    project_id: z.number().int(),
    timestamp: timestamp,
    received_at: timestamp,
    source: z.enum(['sentry', 'native']),
    class: z.enum(EVENT_CLASSES),
    severity: z.enum(SEVERITIES),
    type: z.string(),
    message: z.string().nullable(),
    exception_type: z.string().nullable(),
    exception_value: z.string().nullable(),
    platform: z.string().nullable(),
    release: z.string().nullable(),
    environment: z.string().nullable(),
    tags: z.record(z.string(), z.unknown()),
    user: z
      .object({ id: z.string().nullable(), email: z.string().nullable(), username: z.string().nullable(), ip_address: z.string().nullable() })
      .nullable(),
    fingerprint: z.array(z.string()),
    client_ip: z.string().nullable(),
    sdk_name: z.string().nullable(),
    sdk_version: z.string().nullable(),
    attributes: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Event' });

export const eventDetailSchema = eventSchema
  .extend({ raw: z.unknown().meta({ description: 'The event as the sender sent it (parsed JSON, or the text when it is not JSON).' }) })
  .meta({ id: 'EventDetail' });

export const eventFilters = {
  project: projectRef.optional(),
  class: oneOrMore(EVENT_CLASSES, 'event classes').optional().meta({ description: 'security, network, audit or error; several comma-separated.' }),
  severity: oneOrMore(SEVERITIES, 'severities').optional().meta({ description: 'critical, high, medium, low or info; several comma-separated.' }),
  type: z.string().min(1).max(200).optional().meta({ description: 'Exact event type, e.g. `auth.login_failed`.' }),
  ...timeRangeQuery,
  q: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .meta({ description: 'Full-text search in message and exception type (words as typed; "quoted phrases", `or`, `-word`).' }),
};

export const listEventsQuery = z.strictObject({ ...eventFilters, ...cursorQuery });
export const exportEventsQuery = z.strictObject({
  ...eventFilters,
  limit: z.coerce.number().int().min(1).max(100_000_000).optional().meta({ description: 'At most this many events; all matching when absent.' }),
});

export type EventFilters = {
  class?: string[];
  severity?: string[];
  type?: string;
  since?: Date;
  until?: Date;
  q?: string;
};
