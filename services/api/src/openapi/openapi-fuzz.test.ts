import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { createProject, SCOPES } from '@vigil/db';
import { ApiHarness } from '../testing/api-harness';
import { SchemaArbitraries } from '../testing/openapi-arbitraries';
import { operationsOf } from '../testing/path-fixtures';
import { seedAlerts } from '../testing/seed-alerts';
import { seedEvents } from '../testing/seed-events';

/**
 * The short, in-suite form of bench/api/fuzz.ts (Schemathesis): requests generated from the OpenAPI
 * document itself — path, query and body values valid for the declared schemas, sometimes with an
 * unknown parameter or a value of the wrong kind — sent with a token holding every scope. Every answer
 * must be below 500 and match the document (status declared, body valid; the harness checks each one).
 */
let h: ApiHarness;
let token: string;
before(async () => {
  h = await ApiHarness.start({ VIGIL_API_ANONYMOUS_RATE_LIMIT: '100000' });
  const tenant = await h.tenant();
  token = (await h.token(tenant.org.id, SCOPES, { rateLimitPerMinute: 1_000_000 })).token;
  const { project } = await createProject(h.pool, tenant.org.id, 'fuzz');
  await seedEvents(h.pool, Array.from({ length: 20 }, (_, i) => ({ projectId: project.id, timestamp: new Date(Date.now() - i * 60_000) })));
  await seedAlerts(h.pool, [{ project_id: project.id }]);
});
after(async () => h.stop());

const RUNS_PER_OPERATION = 10;

test('generated requests to every operation: no 5xx, every answer as the document declares', async () => {
  const document = h.validator.document;
  const arbitraries = new SchemaArbitraries(document);
  // Token management is left out: the generated scopes would be refused or revoke the fuzzing token.
  const operations = operationsOf(document).filter((op) => !['revokeCurrentToken', 'revokeToken', 'createToken'].includes(op.operationId));
  let requests = 0;
  for (const op of operations) {
    const spec = document.paths[op.template][op.method.toLowerCase()];
    const params = (spec.parameters ?? []) as Array<{ name: string; in: string; required: boolean; schema: Record<string, unknown> }>;
    const pathArb = fc.record(Object.fromEntries(params.filter((p) => p.in === 'path').map((p) => [p.name, arbitraries.of(p.schema)])));
    const queryArb = fc.record(
      Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, arbitraries.of(p.schema)])),
      { requiredKeys: [] },
    );
    const bodySchema = spec.requestBody?.content?.['application/json']?.schema;
    const bodyArb = bodySchema ? arbitraries.of(bodySchema) : fc.constant(undefined);
    const mutation = fc.constantFrom('none', 'none', 'none', 'unknown-param', 'wrong-kind');
    await fc.assert(
      fc.asyncProperty(pathArb, queryArb, bodyArb, mutation, async (path, query, body, mutate) => {
        const url = new URL(h.base + op.template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(path[name]))));
        for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
        if (mutate === 'unknown-param') url.searchParams.set('x_unknown', '1');
        if (mutate === 'wrong-kind') for (const name of url.searchParams.keys()) url.searchParams.set(name, '☃');
        const res = await h.request(op.method, url.pathname + url.search, { token, body: mutate === 'wrong-kind' && body !== undefined ? [body] : body });
        requests++;
        assert.ok(res.status < 500, `${op.method} ${url.pathname}${url.search} answered ${res.status}: ${res.text.slice(0, 300)}`);
        if (mutate === 'unknown-param') assert.equal(res.status, 400, `${op.operationId} refuses unknown parameters`);
      }),
      { numRuns: RUNS_PER_OPERATION, endOnFailure: true, includeErrorInReport: true },
    );
  }
  assert.ok(requests >= operations.length * RUNS_PER_OPERATION);
});
