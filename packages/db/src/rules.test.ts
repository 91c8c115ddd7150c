import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isolatedDatabase } from '@vigil/testkit';
import pg from 'pg';
import {
  ConflictError,
  createOrganization,
  createPool,
  createProject,
  createRule,
  deleteRule,
  getRule,
  getRuleVersion,
  listRules,
  listRuleVersions,
  loadEnabledRules,
  migrate,
  RULES_CHANGED_CHANNEL,
  RuleProjectError,
  rulesRevision,
  setRuleEnabled,
  updateRule,
  type RuleDefinition,
} from './index';

let url: string;
let pool: pg.Pool;
let orgId: number;
let otherOrgId: number;
let projectId: number;
let foreignProjectId: number;

before(async () => {
  url = await isolatedDatabase();
  await migrate({ databaseUrl: url });
  pool = createPool(url);
  orgId = (await createOrganization(pool, 'acme')).id;
  otherOrgId = (await createOrganization(pool, 'other')).id;
  projectId = (await createProject(pool, orgId, 'web')).project.id;
  foreignProjectId = (await createProject(pool, otherOrgId, 'web')).project.id;
});
after(() => pool.end());

const definition = (id: string, over: Partial<RuleDefinition> = {}): RuleDefinition => ({
  id,
  name: 'SSH brute force',
  description: '',
  project_id: projectId,
  source: 'events',
  severity: 'high',
  tags: ['attack.t1110'],
  enabled: true,
  version: 1,
  match: { field: 'type', eq: 'auth.login_failed' },
  aggregate: { window: '5m', group_by: ['client_ip'], function: 'count', field: null, threshold: 10 },
  suppress: { duration: '1h', group_by: [] },
  ...over,
});

test('a created rule is stored at version 1 with its history; ids are unique per organization', async () => {
  const rule = await createRule(pool, orgId, definition('ssh-brute'), 'alice');
  assert.equal(rule.version, 1);
  assert.equal(rule.definition.version, 1);
  assert.equal(rule.created_by, 'alice');
  await assert.rejects(createRule(pool, orgId, definition('ssh-brute')), ConflictError);
  // The same id in another organization is another rule.
  const other = await createRule(pool, otherOrgId, definition('ssh-brute', { project_id: null }));
  assert.equal(other.organization_id, otherOrgId);
  assert.equal((await getRule(pool, otherOrgId, 'ssh-brute'))?.project_id, null);
  assert.deepEqual((await listRuleVersions(pool, orgId, 'ssh-brute')).map((v) => [v.version, v.change]), [[1, 'created']]);
});

test('a rule may only name a project of its own organization', async () => {
  await assert.rejects(createRule(pool, orgId, definition('foreign', { project_id: foreignProjectId })), RuleProjectError);
  assert.equal(await getRule(pool, orgId, 'foreign'), null);
});

test('updates, enabling and disabling bump the version; identical writes do not', async () => {
  await createRule(pool, orgId, definition('edit-me'));
  const v2 = await updateRule(pool, orgId, 'edit-me', definition('ignored-id', { name: 'Renamed', version: 99 }), 'bob');
  assert.equal(v2?.version, 2);
  assert.equal(v2?.id, 'edit-me');
  assert.equal(v2?.definition.id, 'edit-me', 'the id in the definition follows the stored rule');
  assert.equal(v2?.name, 'Renamed');
  const same = await updateRule(pool, orgId, 'edit-me', definition('edit-me', { name: 'Renamed' }));
  assert.equal(same?.version, 2, 'nothing changed, no new version');
  await assert.rejects(updateRule(pool, orgId, 'edit-me', definition('edit-me', { name: 'Stale' }), null, 1), ConflictError);
  assert.equal((await setRuleEnabled(pool, orgId, 'edit-me', false, 'carol'))?.version, 3);
  assert.equal((await setRuleEnabled(pool, orgId, 'edit-me', false))?.version, 3);
  assert.equal((await setRuleEnabled(pool, orgId, 'edit-me', true))?.enabled, true);
  const versions = await listRuleVersions(pool, orgId, 'edit-me');
  assert.deepEqual(versions.map((v) => [v.version, v.change]), [[4, 'enabled'], [3, 'disabled'], [2, 'updated'], [1, 'created']]);
  assert.equal((await getRuleVersion(pool, orgId, 'edit-me', 2))?.definition.name, 'Renamed');
  assert.equal(await updateRule(pool, orgId, 'missing', definition('missing')), null);
  assert.equal(await updateRule(pool, otherOrgId, 'edit-me', definition('edit-me')), null, 'another organization does not see it');
});

test('a deleted rule keeps its versions, and a re-created one continues the numbering', async () => {
  await createRule(pool, orgId, definition('short-lived'));
  assert.equal(await deleteRule(pool, orgId, 'short-lived', 'dave'), true);
  assert.equal(await deleteRule(pool, orgId, 'short-lived'), false);
  assert.equal(await getRule(pool, orgId, 'short-lived'), null);
  const again = await createRule(pool, orgId, definition('short-lived'));
  assert.equal(again.version, 3);
  assert.deepEqual((await listRuleVersions(pool, orgId, 'short-lived')).map((v) => v.change), ['created', 'deleted', 'created']);
});

test('lists filter by project (with organization-wide rules), source and state', async () => {
  await createRule(pool, orgId, definition('org-wide', { project_id: null, source: 'flows' }));
  await createRule(pool, orgId, definition('off', { enabled: false }));
  const all = await listRules(pool, { organizationId: orgId, limit: 100 });
  assert.equal(all.total, all.items.length);
  assert.deepEqual(all.items.map((r) => r.id), [...all.items.map((r) => r.id)].sort());
  const flows = await listRules(pool, { organizationId: orgId, source: 'flows' });
  assert.deepEqual(flows.items.map((r) => r.id), ['org-wide']);
  const disabled = await listRules(pool, { organizationId: orgId, enabled: false });
  assert.deepEqual(disabled.items.map((r) => r.id), ['off']);
  const forProject = await listRules(pool, { organizationId: orgId, projectId });
  assert.ok(forProject.items.some((r) => r.id === 'org-wide'));
  const page = await listRules(pool, { organizationId: orgId, limit: 2, offset: 1 });
  assert.equal(page.items.length, 2);
  assert.equal(page.items[0]?.id, all.items[1]?.id);
});

test('every change bumps the revision and is announced to listeners', async () => {
  const listener = new pg.Client({ connectionString: url });
  await listener.connect();
  const heard: string[] = [];
  listener.on('notification', (n) => heard.push(n.payload ?? ''));
  await listener.query(`listen ${RULES_CHANGED_CHANNEL}`);
  const before = await rulesRevision(pool);
  await createRule(pool, orgId, definition('announced'));
  await setRuleEnabled(pool, orgId, 'announced', false);
  await deleteRule(pool, orgId, 'announced');
  const afterwards = await rulesRevision(pool);
  assert.equal(afterwards, before + 3);
  for (let i = 0; i < 50 && heard.length < 3; i++) await new Promise((r) => setTimeout(r, 20));
  await listener.end();
  assert.deepEqual(heard, [String(before + 1), String(before + 2), String(before + 3)]);
  const loaded = await loadEnabledRules(pool);
  assert.equal(loaded.revision, afterwards);
  assert.ok(loaded.rules.every((r) => r.definition.enabled));
  assert.ok(!loaded.rules.some((r) => r.definition.id === 'off'));
});
