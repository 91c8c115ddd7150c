import type { RuleVersion, StoredRule } from '@vigil/db';
import { z } from 'zod';
import { SEVERITIES } from '@vigil/contracts';
import { iso, timestamp } from '../resource-ids';

const condition = z
  .record(z.string(), z.unknown())
  .meta({
    id: 'Condition',
    description:
      'A condition tree: `{"field": "<path>", "<operator>": <value>}` with one operator of eq, neq, in, gt, gte, lt, lte, ' +
      'contains, starts_with, ends_with, matches, cidr, exists; or `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`. ' +
      'See docs/rules.md for fields and operators.',
  });

const aggregate = z
  .object({
    window: z.string().meta({ description: 'A duration: 30s, 5m, 1h, … (1s to 7d).' }),
    group_by: z.array(z.string()),
    function: z.enum(['count', 'distinct', 'sum']),
    field: z.string().nullable(),
    threshold: z.number(),
  })
  .meta({ id: 'Aggregate' });

const suppress = z.object({ duration: z.string(), group_by: z.array(z.string()) }).meta({ id: 'Suppress' });

const ruleFields = {
  id: z.string(),
  name: z.string(),
  description: z.string(),
  project_id: z.number().int().nullable().meta({ description: 'The project the rule applies to; null: every project of the organization.' }),
  source: z.enum(['events', 'flows']),
  severity: z.enum(SEVERITIES),
  tags: z.array(z.string()),
  enabled: z.boolean(),
  version: z.number().int().meta({ description: 'Bumped by every change (edit, enable, disable).' }),
  match: condition,
  aggregate: aggregate.nullable(),
  suppress,
};

export const ruleSchema = z
  .object({
    ...ruleFields,
    created_at: timestamp,
    created_by: z.string().nullable().meta({ description: 'Name of the token that created it.' }),
    updated_at: timestamp,
    updated_by: z.string().nullable(),
  })
  .meta({ id: 'Rule' });

export const ruleVersionSchema = z
  .object({
    version: z.number().int(),
    change: z.enum(['created', 'updated', 'enabled', 'disabled', 'deleted']),
    rule: z.object(ruleFields),
    created_at: timestamp,
    created_by: z.string().nullable(),
  })
  .meta({ id: 'RuleVersion' });

/**
 * What a client sends for a rule. This documents the shape; @vigil/rule-engine's parseRule does the
 * full validation (operators, fields of the source, durations, limits) and names each problem.
 */
const ruleInputFields = {
  name: z.string().meta({ description: '1 to 200 characters.' }),
  description: z.string().optional(),
  project_id: z.number().int().nullable(),
  source: z.enum(['events', 'flows']),
  severity: z.enum(SEVERITIES),
  tags: z.array(z.string()).optional(),
  enabled: z.boolean().optional().meta({ description: 'Default true.' }),
  match: condition,
  aggregate: z
    .object({
      window: z.string(),
      group_by: z.array(z.string()).optional(),
      function: z.string().meta({ description: "count, distinct, sum, or the shorthands 'distinct(<field>)' and 'sum(<field>)'." }),
      field: z.string().nullable().optional(),
      threshold: z.number(),
    })
    .nullable()
    .optional(),
  suppress: z
    .union([z.string(), z.object({ duration: z.string(), group_by: z.array(z.string()).optional() })])
    .optional()
    .meta({ description: "Default '1h': one alert per group within this long." }),
};

export const createRuleBody = z
  .strictObject({
    id: z.string().meta({ description: 'Chosen by you, unique in the organization: letters, digits and . _ : - (1-128).' }),
    ...ruleInputFields,
  })
  .meta({ id: 'RuleInput' });

export const replaceRuleBody = z
  .strictObject({
    id: z.string().optional().meta({ description: 'If given, must equal the rule id of the path.' }),
    version: z.number().int().optional().meta({ description: 'If given, the update is refused (409) unless the rule is still at this version.' }),
    ...ruleInputFields,
  })
  .meta({ id: 'RuleReplacement' });

export const patchRuleBody = z
  .strictObject({
    version: z.number().int().optional().meta({ description: 'If given, the update is refused (409) unless the rule is still at this version.' }),
    ...Object.fromEntries(Object.entries(ruleInputFields).map(([k, v]) => [k, (v as z.ZodType).optional()])),
  })
  .meta({ id: 'RulePatch', description: 'Top-level fields replace those of the current rule; the others are kept.' }) as z.ZodType<Record<string, unknown>>;

export function definitionOf(stored: { definition: Record<string, unknown> }): z.output<z.ZodObject<typeof ruleFields>> {
  const d = stored.definition as unknown as z.output<z.ZodObject<typeof ruleFields>>;
  return {
    id: d.id,
    name: d.name,
    description: d.description,
    project_id: d.project_id,
    source: d.source,
    severity: d.severity,
    tags: d.tags,
    enabled: d.enabled,
    version: d.version,
    match: d.match,
    aggregate: d.aggregate,
    suppress: d.suppress,
  };
}

export function toRule(r: StoredRule): z.output<typeof ruleSchema> {
  return {
    ...definitionOf(r as unknown as { definition: Record<string, unknown> }),
    created_at: iso(r.created_at),
    created_by: r.created_by,
    updated_at: iso(r.updated_at),
    updated_by: r.updated_by,
  };
}

export function toRuleVersion(v: RuleVersion): z.output<typeof ruleVersionSchema> {
  return {
    version: v.version,
    change: v.change,
    rule: definitionOf(v as unknown as { definition: Record<string, unknown> }),
    created_at: iso(v.created_at),
    created_by: v.created_by,
  };
}

export const validationResultSchema = z
  .object({
    valid: z.boolean(),
    issues: z.array(z.object({ field: z.string(), message: z.string() })),
    rule: z.object(ruleFields).nullable().meta({ description: 'The rule in canonical form when valid.' }),
  })
  .meta({ id: 'RuleValidation' });
