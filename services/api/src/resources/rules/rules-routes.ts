import {
  ConflictError,
  createRule,
  deleteRule,
  getRule,
  getRuleVersion,
  listRules,
  listRuleVersions,
  setRuleEnabled,
  updateRule,
} from '@vigil/db';
import { parseRule, RuleValidationError } from '@vigil/rule-engine';
import { z } from 'zod';
import type { ApiServices } from '../../api-app';
import { ApiError, conflict, notFound } from '../../http/error-catalog';
import { pageOffset, pagePagination, pageQuery } from '../../http/pagination';
import { defineRoute, type AnyRoute } from '../../http/routes';
import { projectRef } from '../resource-ids';
import { projectParams } from '../projects/projects-routes';
import { requireProject } from '../projects/project-lookup';
// The rules service's default pack installer, imported by path like the backtest (see rule-backtest.ts).
import { installDefaultRules } from '../../../../rules/src/default-rules';
import { backtestBody, backtestResultSchema, draftBacktestBody, runBacktest } from './rule-backtest';
import { asDefinition, projectNotFound, validRule } from './rule-validation';
import {
  createRuleBody,
  definitionOf,
  patchRuleBody,
  replaceRuleBody,
  ruleSchema,
  ruleVersionSchema,
  toRule,
  toRuleVersion,
  validationResultSchema,
} from './rule-schemas';

const ruleId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'expected a rule id');
const ruleParams = z.object({ rule_id: ruleId });

const installDefaultsBody = z
  .strictObject({
    blocklist: z
      .array(z.string().min(1).max(64))
      .max(10_000)
      .optional()
      .meta({ description: 'Networks (CIDR or single addresses) whose contact raises an alert; given and non-empty, the pack includes the blocklist rule.' }),
  })
  .optional()
  .meta({ id: 'InstallDefaultRules' });

const installedDefaultsSchema = z
  .object({
    created: z.array(ruleSchema).meta({ description: 'Rules of the pack stored by this call.' }),
    existing: z.array(z.string()).meta({ description: 'Ids of pack rules the project already had; they are left as they are.' }),
  })
  .meta({ id: 'InstalledDefaultRules' });

/**
 * Detection rules (`rules:read`, `rules:write`): CRUD, enable/disable, the version history and
 * validation. Every change is stored as a new version and reaches the rule workers within seconds.
 */
export function ruleRoutes(s: ApiServices): AnyRoute[] {
  const rethrow = (err: unknown): never => {
    if (err instanceof ConflictError) throw conflict(err.message);
    return projectNotFound(err);
  };
  const write = (id: string, body: Record<string, unknown>) => {
    if (body.id !== undefined && body.id !== id) throw new ApiError('validation_error', undefined, [{ field: 'id', message: `must be ${id}, the id in the path` }]);
    const { version: expected, ...rest } = body;
    return { rule: validRule({ ...rest, id }), expected: expected as number | undefined };
  };
  return [
    defineRoute({
      method: 'GET',
      path: '/v1/rules',
      operationId: 'listRules',
      summary: 'List rules (ordered by id)',
      tag: 'rules',
      auth: { scope: 'rules:read' },
      query: z.strictObject({
        project: projectRef.optional().meta({ description: "The project's rules and the organization-wide ones." }),
        source: z.enum(['events', 'flows']).optional(),
        enabled: z.enum(['true', 'false']).optional().transform((v) => (v === undefined ? undefined : v === 'true')),
        ...pageQuery,
      }),
      response: { kind: 'page', data: ruleSchema },
      errors: ['not_found'],
      handler: async ({ principal, query }) => {
        const projectId = query.project === undefined ? undefined : (await requireProject(s.pool, principal.organizationId, query.project)).id;
        const { limit, offset } = pageOffset(query);
        const { items, total } = await listRules(s.pool, { organizationId: principal.organizationId, projectId, source: query.source, enabled: query.enabled, limit, offset });
        return { items: items.map(toRule), pagination: pagePagination(query, total) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/rules',
      operationId: 'createRule',
      summary: 'Create a rule',
      tag: 'rules',
      auth: { scope: 'rules:write' },
      body: createRuleBody,
      response: { kind: 'item', status: 201, data: ruleSchema },
      errors: ['conflict', 'not_found'],
      handler: async ({ principal, body }) => {
        const rule = validRule(body);
        return toRule(await createRule(s.pool, principal.organizationId, asDefinition(rule), principal.tokenName).catch(rethrow));
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/projects/{project}/rules/defaults',
      operationId: 'installDefaultRules',
      summary: "Install the default rule pack for a project",
      description:
        'Stores the default rules (brute-force logins, port scan, host sweep, large outbound transfer, known service on a ' +
        'non-standard port and, given `blocklist`, traffic to blocklisted networks) as ordinary rules of the project, with ids ' +
        '`default.p<project id>.<name>`. Installing again stores only the rules missing: ones already present (even edited or ' +
        'disabled) are listed in `existing` and left unchanged. The body is optional.',
      tag: 'rules',
      auth: { scope: 'rules:write' },
      params: projectParams,
      body: installDefaultsBody,
      response: { kind: 'item', data: installedDefaultsSchema },
      handler: async ({ principal, params, body }) => {
        const project = await requireProject(s.pool, principal.organizationId, params.project);
        try {
          const installed = await installDefaultRules(s.pool, {
            organizationId: principal.organizationId,
            projectId: project.id,
            actor: principal.tokenName,
            options: { blocklist: body?.blocklist },
          });
          return { created: installed.created.map(toRule), existing: installed.existing };
        } catch (err) {
          if (err instanceof RuleValidationError) {
            throw new ApiError('validation_error', 'The blocklist is not valid.', err.issues.map((i) => ({ field: 'blocklist', message: i.message })));
          }
          return projectNotFound(err);
        }
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/rules/validate',
      operationId: 'validateRule',
      summary: 'Validate a rule without storing it',
      description: 'The body is a rule (JSON), or a JSON string holding a rule as JSON or YAML text. Invalid rules are answered 200 with `valid: false`.',
      tag: 'rules',
      auth: { scope: 'rules:read' },
      body: z.union([z.record(z.string(), z.unknown()), z.string()]).meta({ description: 'A rule, or its JSON/YAML text.' }),
      response: { kind: 'item', data: validationResultSchema },
      handler: async ({ body }) => {
        const parsed = parseRule(body);
        if (parsed.ok) return { valid: true, issues: [], rule: definitionOf({ definition: parsed.value as unknown as Record<string, unknown> }) };
        return { valid: false, issues: parsed.issues.map((i) => ({ field: i.path || 'rule', message: i.message })), rule: null };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/rules/test',
      operationId: 'backtestDraftRule',
      summary: 'Try a rule that is not stored over a past time range',
      description: 'Runs the rule over stored events or flows exactly as the stream would, and returns the alerts it would have raised. Nothing is stored or sent.',
      tag: 'rules',
      auth: { scope: 'rules:read' },
      body: draftBacktestBody,
      response: { kind: 'item', data: backtestResultSchema },
      errors: ['not_found'],
      handler: async ({ principal, body }) => runBacktest(s.pool, principal.organizationId, body.rule, body, s.backtestTimeoutMs),
    }),
    defineRoute({
      method: 'POST',
      path: '/v1/rules/{rule_id}/test',
      operationId: 'backtestRule',
      summary: 'Backtest a rule over a past time range',
      description: 'Runs the stored rule (enabled or not) over stored events or flows exactly as the stream would, and returns the alerts it would have raised. Nothing is stored or sent.',
      tag: 'rules',
      auth: { scope: 'rules:read' },
      params: ruleParams,
      body: backtestBody,
      response: { kind: 'item', data: backtestResultSchema },
      handler: async ({ principal, params, body }) => {
        const rule = await getRule(s.pool, principal.organizationId, params.rule_id);
        if (!rule) throw notFound(`rule ${params.rule_id}`);
        return runBacktest(s.pool, principal.organizationId, rule.definition, body, s.backtestTimeoutMs);
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/rules/{rule_id}',
      operationId: 'getRule',
      summary: 'Get a rule',
      tag: 'rules',
      auth: { scope: 'rules:read' },
      params: ruleParams,
      response: { kind: 'item', data: ruleSchema },
      handler: async ({ principal, params }) => {
        const rule = await getRule(s.pool, principal.organizationId, params.rule_id);
        if (!rule) throw notFound(`rule ${params.rule_id}`);
        return toRule(rule);
      },
    }),
    defineRoute({
      method: 'PUT',
      path: '/v1/rules/{rule_id}',
      operationId: 'replaceRule',
      summary: 'Replace a rule',
      description: 'With `version`, the change is refused (409) if the rule changed since that version was read.',
      tag: 'rules',
      auth: { scope: 'rules:write' },
      params: ruleParams,
      body: replaceRuleBody,
      response: { kind: 'item', data: ruleSchema },
      errors: ['conflict'],
      handler: async ({ principal, params, body }) => {
        const { rule, expected } = write(params.rule_id, body);
        const updated = await updateRule(s.pool, principal.organizationId, params.rule_id, asDefinition(rule), principal.tokenName, expected).catch(rethrow);
        if (!updated) throw notFound(`rule ${params.rule_id}`);
        return toRule(updated);
      },
    }),
    defineRoute({
      method: 'PATCH',
      path: '/v1/rules/{rule_id}',
      operationId: 'updateRule',
      summary: 'Change some fields of a rule',
      tag: 'rules',
      auth: { scope: 'rules:write' },
      params: ruleParams,
      body: patchRuleBody,
      response: { kind: 'item', data: ruleSchema },
      errors: ['conflict'],
      handler: async ({ principal, params, body }) => {
        const current = await getRule(s.pool, principal.organizationId, params.rule_id);
        if (!current) throw notFound(`rule ${params.rule_id}`);
        const { id: _id, version: _version, ...definition } = current.definition;
        const { rule, expected } = write(params.rule_id, { ...definition, ...body });
        const updated = await updateRule(s.pool, principal.organizationId, params.rule_id, asDefinition(rule), principal.tokenName, expected).catch(rethrow);
        if (!updated) throw notFound(`rule ${params.rule_id}`);
        return toRule(updated);
      },
    }),
    defineRoute({
      method: 'DELETE',
      path: '/v1/rules/{rule_id}',
      operationId: 'deleteRule',
      summary: 'Delete a rule (its versions and alerts are kept)',
      tag: 'rules',
      auth: { scope: 'rules:write' },
      params: ruleParams,
      response: { kind: 'empty' },
      handler: async ({ principal, params }) => {
        if (!(await deleteRule(s.pool, principal.organizationId, params.rule_id, principal.tokenName))) throw notFound(`rule ${params.rule_id}`);
      },
    }),
    ...(['enable', 'disable'] as const).map((action) =>
      defineRoute({
        method: 'POST',
        path: `/v1/rules/{rule_id}/${action}`,
        operationId: `${action}Rule`,
        summary: `${action === 'enable' ? 'Enable' : 'Disable'} a rule`,
        description: `A rule already ${action}d is returned unchanged (no new version).`,
        tag: 'rules',
        auth: { scope: 'rules:write' },
        params: ruleParams,
        response: { kind: 'item', data: ruleSchema },
        handler: async ({ principal, params }) => {
          const rule = await setRuleEnabled(s.pool, principal.organizationId, params.rule_id, action === 'enable', principal.tokenName);
          if (!rule) throw notFound(`rule ${params.rule_id}`);
          return toRule(rule);
        },
      }),
    ),
    defineRoute({
      method: 'GET',
      path: '/v1/rules/{rule_id}/versions',
      operationId: 'listRuleVersions',
      summary: "A rule's version history, newest first (also of a deleted rule)",
      tag: 'rules',
      auth: { scope: 'rules:read' },
      params: ruleParams,
      query: z.strictObject({ ...pageQuery }),
      response: { kind: 'page', data: ruleVersionSchema },
      handler: async ({ principal, params, query }) => {
        const versions = await listRuleVersions(s.pool, principal.organizationId, params.rule_id);
        if (versions.length === 0) throw notFound(`rule ${params.rule_id}`);
        const { limit, offset } = pageOffset(query);
        return { items: versions.slice(offset, offset + limit).map(toRuleVersion), pagination: pagePagination(query, versions.length) };
      },
    }),
    defineRoute({
      method: 'GET',
      path: '/v1/rules/{rule_id}/versions/{version}',
      operationId: 'getRuleVersion',
      summary: 'One version of a rule',
      tag: 'rules',
      auth: { scope: 'rules:read' },
      params: z.object({ rule_id: ruleId, version: z.coerce.number().int().min(1).max(2_147_483_647) }),
      response: { kind: 'item', data: ruleVersionSchema },
      handler: async ({ principal, params }) => {
        const version = await getRuleVersion(s.pool, principal.organizationId, params.rule_id, params.version);
        if (!version) throw notFound(`version ${params.version} of rule ${params.rule_id}`);
        return toRuleVersion(version);
      },
    }),
  ];
}
