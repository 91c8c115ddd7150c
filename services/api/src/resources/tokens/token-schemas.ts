import { SCOPES, type ApiToken } from '@vigil/db';
import { z } from 'zod';
import { iso, isoOrNull, nullableTimestamp, timestamp } from '../resource-ids';

export const scopeSchema = z.enum(SCOPES).meta({ id: 'Scope' });

export const tokenSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().meta({ description: 'The first characters of the token, to tell tokens apart.' }),
    scopes: z.array(scopeSchema),
    rate_limit_per_minute: z.number().int().nullable().meta({ description: 'Own request limit; null uses the server default.' }),
    status: z.enum(['active', 'expired', 'revoked']),
    expires_at: nullableTimestamp,
    revoked_at: nullableTimestamp,
    last_used_at: nullableTimestamp.meta({ description: 'Updated at most once a minute.' }),
    created_at: timestamp,
  })
  .meta({ id: 'Token' });

export const createdTokenSchema = tokenSchema
  .extend({ token: z.string().meta({ description: 'The token itself: shown only in this response, stored only as a hash.' }) })
  .meta({ id: 'CreatedToken' });

export const createTokenBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    scopes: z
      .array(scopeSchema)
      .min(1)
      .max(SCOPES.length)
      .refine((list) => new Set(list).size === list.length, 'scopes must not repeat'),
    expires_at: z.iso
      .datetime({ offset: true })
      .nullable()
      .optional()
      .refine((value) => value == null || Date.parse(value) > Date.now(), 'must be in the future')
      .meta({ description: 'When the token stops working; null or absent: never.' }),
    rate_limit_per_minute: z.number().int().min(1).max(1_000_000).nullable().optional(),
  })
  .meta({ id: 'CreateToken' });

export function toToken(t: ApiToken, now = Date.now()): z.output<typeof tokenSchema> {
  return {
    id: t.id,
    name: t.name,
    prefix: t.prefix,
    scopes: t.scopes,
    rate_limit_per_minute: t.rate_limit_per_minute,
    status: t.revoked_at ? 'revoked' : t.expires_at && t.expires_at.getTime() <= now ? 'expired' : 'active',
    expires_at: isoOrNull(t.expires_at),
    revoked_at: isoOrNull(t.revoked_at),
    last_used_at: isoOrNull(t.last_used_at),
    created_at: iso(t.created_at),
  };
}
