import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createProject } from '@vigil/db';
import { ApiHarness, assertError, assertOk } from '../../testing/api-harness';
import { seedEvents } from '../../testing/seed-events';

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start();
});
after(async () => h.stop());

const bruteForce = (projectId: number | null = null) => ({
  id: 'brute-force',
  name: 'Brute force',
  project_id: projectId,
  source: 'events',
  severity: 'high',
  match: { all: [{ field: 'type', eq: 'auth.login_failed' }] },
  aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 10 },
});

test('create, get, list, replace, patch, enable/disable, versions, delete', async () => {
  const { token, org } = await h.tenant();
  const { project } = await createProject(h.pool, org.id, 'web');
  const created = await h.post('/v1/rules', bruteForce(project.id), { token });
  assertOk(created, 201);
  const r = created.body.data;
  assert.equal(r.version, 1);
  assert.equal(r.enabled, true);
  assert.equal(r.created_by, 'test');
  assert.deepEqual(r.suppress, { duration: '1h', group_by: [] }, 'canonical form');
  assertError(await h.post('/v1/rules', bruteForce(project.id), { token }), 409, 'conflict');
  assertOk(await h.get('/v1/rules/brute-force', { token }));

  const list = await h.get(`/v1/rules?project=${project.slug}&source=events&enabled=true`, { token });
  assertOk(list);
  assert.deepEqual(list.body.pagination, { total: 1, page: 1, per_page: 50, total_pages: 1 });
  assert.equal((await h.get('/v1/rules?source=flows', { token })).body.pagination.total, 0);

  const replaced = await h.put('/v1/rules/brute-force', { ...bruteForce(project.id), id: undefined, version: 1, severity: 'critical' }, { token });
  assertOk(replaced);
  assert.equal(replaced.body.data.version, 2);
  assert.equal(replaced.body.data.severity, 'critical');
  assertError(await h.put('/v1/rules/brute-force', { ...bruteForce(project.id), version: 1 }, { token }), 409, 'conflict');
  assertError(await h.put('/v1/rules/brute-force', { ...bruteForce(project.id), id: 'other' }, { token }), 400, 'validation_error');

  const patched = await h.patch('/v1/rules/brute-force', { name: 'Brute force (SSH)' }, { token });
  assertOk(patched);
  assert.equal(patched.body.data.version, 3);
  assert.equal(patched.body.data.severity, 'critical', 'other fields kept');
  const disabled = await h.post('/v1/rules/brute-force/disable', undefined, { token });
  assert.equal(disabled.body.data.enabled, false);
  assert.equal(disabled.body.data.version, 4);
  const again = await h.post('/v1/rules/brute-force/disable', undefined, { token });
  assert.equal(again.body.data.version, 4, 'no new version when nothing changes');
  assert.equal((await h.post('/v1/rules/brute-force/enable', undefined, { token })).body.data.enabled, true);

  const versions = await h.get('/v1/rules/brute-force/versions', { token });
  assertOk(versions);
  assert.deepEqual(versions.body.data.map((v: { version: number; change: string }) => [v.version, v.change]), [
    [5, 'enabled'],
    [4, 'disabled'],
    [3, 'updated'],
    [2, 'updated'],
    [1, 'created'],
  ]);
  const v2 = await h.get('/v1/rules/brute-force/versions/2', { token });
  assert.equal(v2.body.data.rule.severity, 'critical');
  assertError(await h.get('/v1/rules/brute-force/versions/99', { token }), 404, 'not_found');

  assert.equal((await h.delete('/v1/rules/brute-force', { token })).status, 204);
  assertError(await h.get('/v1/rules/brute-force', { token }), 404, 'not_found');
  const history = await h.get('/v1/rules/brute-force/versions', { token });
  assert.equal(history.body.data[0].change, 'deleted', 'history outlives the rule');
});

test('invalid rules are refused with every problem named; validate answers without storing', async () => {
  const { token } = await h.tenant();
  const bad = { ...bruteForce(), match: { field: 'client_ip', cidr: 'not-a-cidr' }, aggregate: { window: '5x', function: 'count', threshold: 10 } };
  const res = await h.post('/v1/rules', bad, { token });
  assertError(res, 400, 'validation_error');
  const fields = res.body.error.details.map((d: { field: string }) => d.field);
  assert.ok(fields.includes('aggregate.window'), JSON.stringify(res.body.error.details));
  const validation = await h.post('/v1/rules/validate', bad, { token });
  assertOk(validation);
  assert.equal(validation.body.data.valid, false);
  assert.ok(validation.body.data.issues.length > 0);
  const good = await h.post('/v1/rules/validate', bruteForce(), { token });
  assert.equal(good.body.data.valid, true);
  assert.equal(good.body.data.rule.aggregate.function, 'count');
  const yaml = await h.post('/v1/rules/validate', 'id: y\nname: Y\nproject_id: null\nsource: flows\nseverity: low\nmatch: { field: dst_port, eq: 23 }\n', { token });
  assert.equal(yaml.body.data.valid, true, JSON.stringify(yaml.body.data.issues));
  assertError(await h.get('/v1/rules/y', { token }), 404, 'not_found');
});

test('a rule naming another organization\'s project is 404; other organizations\' rules are 404', async () => {
  const a = await h.tenant();
  const b = await h.tenant();
  const { project } = await createProject(h.pool, a.org.id, 'a');
  assertError(await h.post('/v1/rules', bruteForce(project.id), { token: b.token }), 404, 'not_found');
  assertOk(await h.post('/v1/rules', bruteForce(project.id), { token: a.token }), 201);
  for (const [method, path] of [
    ['GET', '/v1/rules/brute-force'],
    ['PATCH', '/v1/rules/brute-force'],
    ['DELETE', '/v1/rules/brute-force'],
    ['POST', '/v1/rules/brute-force/disable'],
    ['GET', '/v1/rules/brute-force/versions'],
    ['GET', '/v1/rules/brute-force/versions/1'],
  ] as const) {
    assertError(await h.request(method, path, { token: b.token, body: method === 'PATCH' ? { name: 'x' } : undefined }), 404, 'not_found');
  }
  assertError(await h.get(`/v1/rules?project=${project.id}`, { token: b.token }), 404, 'not_found');
  assert.equal((await h.get('/v1/rules', { token: b.token })).body.pagination.total, 0);
});

test('backtest a stored rule and a draft over stored events; the range is bounded', async () => {
  const { token, org } = await h.tenant();
  const { project } = await createProject(h.pool, org.id, 'bt');
  const t0 = Date.parse('2026-02-10T08:00:00Z');
  await seedEvents(h.pool, Array.from({ length: 12 }, (_, i) => ({ projectId: project.id, timestamp: new Date(t0 + i * 5000) })));
  assertOk(await h.post('/v1/rules', { ...bruteForce(project.id), enabled: false }, { token }), 201);
  const range = { since: new Date(t0 - 3_600_000).toISOString(), until: new Date(t0 + 3_600_000).toISOString() };
  const res = await h.post('/v1/rules/brute-force/test', range, { token });
  assertOk(res);
  assert.equal(res.body.data.records, 12);
  assert.equal(res.body.data.alerts.length, 1, 'a disabled rule is tested too');
  const alert = res.body.data.alerts[0];
  assert.deepEqual(alert.group_values, { client_ip: '198.51.100.7' });
  assert.equal(alert.value >= 10, true);
  assert.equal(res.body.data.counters.matched, 12);
  assertError(await h.get(`/v1/alerts/${alert.id}`, { token }), 404, 'not_found');

  const draft = await h.post('/v1/rules/test', { ...range, rule: { ...bruteForce(project.id), aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', threshold: 100 } } }, { token });
  assertOk(draft);
  assert.equal(draft.body.data.alerts.length, 0);
  const invalid = await h.post('/v1/rules/test', { ...range, rule: { ...bruteForce(project.id), severity: 'urgent' } }, { token });
  assertError(invalid, 400, 'validation_error');
  assert.equal(invalid.body.error.details[0].field, 'rule.severity');
  assertError(await h.post('/v1/rules/brute-force/test', { since: range.since, until: new Date(t0 + 40 * 86_400_000).toISOString() }, { token }), 400, 'validation_error');
  assertError(await h.post('/v1/rules/brute-force/test', { since: range.until, until: range.since }, { token }), 400, 'validation_error');
  assertError(await h.post('/v1/rules/nope/test', range, { token }), 404, 'not_found');
});

test('default rule pack: installed per project on request, again installs nothing new, blocklist adds its rule', async () => {
  const { token, org } = await h.tenant();
  const other = await h.tenant();
  const { project } = await createProject(h.pool, org.id, 'defaults');
  const first = await h.post(`/v1/projects/${project.slug}/rules/defaults`, undefined, { token });
  assertOk(first);
  const created: Array<{ id: string; project_id: number; created_by: string }> = first.body.data.created;
  assert.ok(created.length >= 5, JSON.stringify(first.body.data));
  assert.deepEqual(first.body.data.existing, []);
  for (const rule of created) {
    assert.match(rule.id, new RegExp(`^default\\.p${project.id}\\.`));
    assert.equal(rule.project_id, project.id);
    assert.equal(rule.created_by, 'test');
  }
  assert.ok(!created.some((r) => r.id.endsWith('.blocklisted-destination')), 'no blocklist, no blocklist rule');
  const listed = await h.get(`/v1/rules?project=${project.id}`, { token });
  assert.equal(listed.body.pagination.total, created.length);

  const again = await h.post(`/v1/projects/${project.id}/rules/defaults`, {}, { token });
  assertOk(again);
  assert.deepEqual(again.body.data.created, []);
  assert.deepEqual([...again.body.data.existing].sort(), created.map((r) => r.id).sort());

  const blocklisted = await h.post(`/v1/projects/${project.id}/rules/defaults`, { blocklist: ['203.0.113.0/24', '2001:db8::/32'] }, { token });
  assertOk(blocklisted);
  assert.deepEqual(blocklisted.body.data.created.map((r: { id: string }) => r.id), [`default.p${project.id}.blocklisted-destination`]);
  assert.deepEqual(blocklisted.body.data.created[0].match, { field: 'dst_addr', cidr: ['203.0.113.0/24', '2001:db8::/32'] });
  assert.equal(blocklisted.body.data.existing.length, created.length);

  const bad = await h.post(`/v1/projects/${project.id}/rules/defaults`, { blocklist: ['300.0.0.0/8'] }, { token });
  assertError(bad, 400, 'validation_error');
  assert.equal(bad.body.error.details[0].field, 'blocklist');
  assertError(await h.post(`/v1/projects/${project.id}/rules/defaults`, { blocklist: 'x' }, { token }), 400, 'validation_error');
  assertError(await h.post(`/v1/projects/${project.id}/rules/defaults`, { colour: 'blue' }, { token }), 400, 'validation_error');

  assertError(await h.post(`/v1/projects/${project.id}/rules/defaults`, undefined, { token: other.token }), 404, 'not_found');
  assertError(await h.post(`/v1/projects/${project.slug}/rules/defaults`, undefined, { token: other.token }), 404, 'not_found');
  assert.equal((await h.get('/v1/rules', { token: other.token })).body.pagination.total, 0, 'nothing installed for the other organization');
  const readOnly = await h.token(org.id, ['rules:read']);
  assertError(await h.post(`/v1/projects/${project.id}/rules/defaults`, undefined, { token: readOnly.token }), 403, 'forbidden');
});

test("a draft backtest naming another organization's project is 404", async () => {
  const a = await h.tenant();
  const b = await h.tenant();
  const { project } = await createProject(h.pool, a.org.id, 'draft-a');
  const range = { since: '2026-02-10T07:00:00Z', until: '2026-02-10T09:00:00Z' };
  assertError(await h.post('/v1/rules/test', { ...range, rule: bruteForce(project.id) }, { token: b.token }), 404, 'not_found');
  assertOk(await h.post('/v1/rules/test', { ...range, rule: bruteForce(project.id) }, { token: a.token }));
});
