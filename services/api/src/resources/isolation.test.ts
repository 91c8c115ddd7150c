import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createApiToken, createProject, SCOPES } from '@vigil/db';
import { ApiHarness, assertError, assertOk } from '../testing/api-harness';
import { fillPath, operationsOf } from '../testing/path-fixtures';
import { seedAlerts } from '../testing/seed-alerts';
import { seedEvents } from '../testing/seed-events';

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start();
});
after(async () => h.stop());

/** A valid body for every operation that takes one, so the request gets past validation to the lookup. */
const BODIES: Record<string, unknown> = {
  updateProject: { name: 'renamed' },
  createProjectKey: { label: 'x' },
  createExporter: { cidr: '198.51.100.0/24' },
  replaceRule: { name: 'r', project_id: null, source: 'events', severity: 'low', match: { field: 'type', eq: 'x' } },
  updateRule: { name: 'renamed' },
  backtestRule: { since: '2026-01-01T00:00:00Z', until: '2026-01-02T00:00:00Z' },
  updateWebhook: { description: 'x' },
  rotateWebhookSecret: { grace_period_seconds: 0 },
};

test("a token of organization B gets 404 for every organization-A resource id, on every endpoint with one", async () => {
  const a = await h.tenant();
  const b = await h.tenant();
  const { project } = await createProject(h.pool, a.org.id, 'a-project');
  const key = (await h.post(`/v1/projects/${project.id}/keys`, {}, { token: a.token })).body.data;
  const exporter = (await h.post(`/v1/projects/${project.id}/exporters`, { cidr: '192.0.2.0/24' }, { token: a.token })).body.data;
  const { record: tokenA } = await createApiToken(h.pool, { organizationId: a.org.id, name: 'other', scopes: SCOPES });
  const [eventId] = await seedEvents(h.pool, [{ projectId: project.id, timestamp: new Date() }]);
  assertOk(await h.post('/v1/rules', { id: 'a-rule', name: 'A', project_id: project.id, source: 'events', severity: 'low', match: { field: 'type', eq: 'x' } }, { token: a.token }), 201);
  const [alertId] = await seedAlerts(h.pool, [{ project_id: project.id }]);
  const webhook = (await h.post('/v1/webhooks', { url: 'https://hooks.example.com/a' }, { token: a.token })).body.data;
  const messageId = (await h.post(`/v1/webhooks/${webhook.id}/test`, undefined, { token: a.token })).body.data.message_id;
  const ids: Record<string, string> = {
    project: String(project.id),
    key_id: String(key.id),
    exporter_id: String(exporter.id),
    token_id: tokenA.id,
    event_id: eventId!,
    rule_id: 'a-rule',
    version: '1',
    alert_id: alertId!,
    webhook_id: webhook.id,
    message_id: messageId,
  };
  // B owns a project too, so an empty organization is not why it sees nothing.
  await createProject(h.pool, b.org.id, 'b-project');
  const withIds = operationsOf(h.validator.document).filter((op) => op.template.includes('{'));
  assert.ok(withIds.length >= 30);
  for (const op of withIds) {
    const body = BODIES[op.operationId];
    if (op.method !== 'GET' && op.method !== 'DELETE' && body === undefined) {
      const probe = await h.request(op.method, fillPath(op.template, ids), { token: b.token });
      assert.ok(probe.status === 404, `${op.operationId}: without a body answered ${probe.status}; add a body to BODIES`);
      continue;
    }
    const res = await h.request(op.method, fillPath(op.template, ids), { token: b.token, body });
    assertError(res, 404, 'not_found');
  }
  // Everything is still there for A.
  assertOk(await h.get(`/v1/projects/${project.id}/keys/${key.id}`, { token: a.token }));
  assertOk(await h.get(`/v1/alerts/${alertId}`, { token: a.token }));
  assertOk(await h.get(`/v1/rules/a-rule`, { token: a.token }));
});

test('filters naming another organization\'s project are 404 on every list, export and breakdown', async () => {
  const a = await h.tenant();
  const b = await h.tenant();
  const { project } = await createProject(h.pool, a.org.id, 'filtered');
  const lists = operationsOf(h.validator.document).filter((op) => op.method === 'GET' && !op.template.includes('{'));
  const withProjectFilter = lists.filter((op) => {
    const params = h.validator.document.paths[op.template].get.parameters as Array<{ name: string }>;
    return params.some((p) => p.name === 'project');
  });
  assert.deepEqual(withProjectFilter.map((op) => op.operationId).sort(), ['exportEvents', 'flowProtocols', 'listAlerts', 'listEvents', 'listFlows', 'listRules', 'topTalkers']);
  for (const op of withProjectFilter) {
    for (const ref of [String(project.id), project.slug]) {
      assertError(await h.get(`${op.template}?project=${ref}`, { token: b.token }), 404, 'not_found');
    }
    assertOk(await h.get(`${op.template}?project=${project.id}`, { token: a.token }));
  }
});
