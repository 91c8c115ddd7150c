import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SCOPES, type Scope } from '@vigil/db';
import { ApiHarness, assertError } from '../testing/api-harness';
import { fillPath, operationsOf } from '../testing/path-fixtures';

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start({ VIGIL_API_ANONYMOUS_RATE_LIMIT: '10000' });
});
after(async () => h.stop());

test('every endpoint refuses a token that holds every scope but its own (403), and no token at all (401)', async () => {
  const { org } = await h.tenant();
  const operations = operationsOf(h.validator.document);
  const scoped = operations.filter((op) => op.scope !== null);
  assert.ok(scoped.length >= 50, `only ${scoped.length} scoped operations`);
  const tokens = new Map<string, string>();
  for (const scope of SCOPES) tokens.set(scope, (await h.token(org.id, SCOPES.filter((s) => s !== scope) as Scope[], { rateLimitPerMinute: 100_000 })).token);
  for (const op of scoped) {
    const path = fillPath(op.template);
    const forbidden = await h.request(op.method, path, { token: tokens.get(op.scope!)!, body: op.method === 'GET' || op.method === 'DELETE' ? undefined : {} });
    assertError(forbidden, 403, 'forbidden');
    assert.match(forbidden.body.error.message, new RegExp(op.scope!), `${op.method} ${op.template}`);
    assertError(await h.request(op.method, path), 401, 'unauthorized');
  }
  // The only endpoints without a scope: the document, the reference page, and the token's own.
  assert.deepEqual(
    operations.filter((op) => op.scope === null).map((op) => op.operationId).sort(),
    ['getCurrentToken', 'getOpenApiDocument', 'getReferencePage', 'revokeCurrentToken'],
  );
});
