import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOrganization, createPool, createProject, createRule, migrate, setRuleEnabled, type Pool } from '@vigil/db';
import { parseRule } from '@vigil/rule-engine';
import { isolatedDatabase, silentLogger } from '@vigil/testkit';
import { ProjectDirectory } from './project-directory';
import { RuleCatalog, type RuleSet } from './rule-catalog';

let pool: Pool;
let acme: number;
let other: number;
let project: number;

before(async () => {
  const url = await isolatedDatabase();
  await migrate({ databaseUrl: url });
  pool = createPool(url);
  acme = (await createOrganization(pool, 'acme')).id;
  other = (await createOrganization(pool, 'other')).id;
  project = (await createProject(pool, acme, 'web')).project.id;
});
after(() => pool.end());

const rule = (id: string, projectId: number | null) => {
  const r = parseRule({ id, name: id, project_id: projectId, source: 'events', severity: 'low', match: { field: 'type', eq: 'x' } });
  assert.ok(r.ok);
  return { ...r.value };
};

test('the catalog groups enabled rules by organization, leaves invalid stored ones out, and re-reads only on change', async () => {
  await createRule(pool, acme, rule('a', project));
  await createRule(pool, acme, rule('b', null));
  await createRule(pool, other, rule('a', null));
  await createRule(pool, acme, rule('off', null));
  await setRuleEnabled(pool, acme, 'off', false);
  // A definition the engine's schema refuses (stored by hand, or by an older version).
  await pool.query(`insert into rules (organization_id, id, project_id, name, source, severity, enabled, version, definition)
    values ($1, 'broken', null, 'broken', 'events', 'low', true, 1, '{"id":"broken","match":{"field":"nickname","eq":1}}')`, [acme]);

  const catalog = new RuleCatalog(pool, silentLogger());
  const seen: RuleSet[] = [];
  catalog.onChange((s) => seen.push(s));
  assert.equal(await catalog.refresh(), true);
  const set = catalog.current;
  assert.deepEqual(set.byOrganization.get(acme)?.map((r) => r.id).sort(), ['a', 'b']);
  assert.deepEqual(set.byOrganization.get(other)?.map((r) => r.id), ['a']);
  assert.equal(set.rejected, 1);
  assert.equal(await catalog.refresh(), false, 'nothing changed');
  assert.equal(seen.length, 1);

  await setRuleEnabled(pool, acme, 'b', false);
  assert.equal(await catalog.refresh(), true);
  assert.deepEqual(catalog.current.byOrganization.get(acme)?.map((r) => r.id), ['a']);
  // Unchanged rules are the same objects across reloads (compiled once by the engines).
  assert.equal(catalog.current.byOrganization.get(other)?.[0], set.byOrganization.get(other)?.[0]);
});

test('projects resolve to their organization; unknown ones are re-read at most once per interval', async () => {
  const directory = new ProjectDirectory(pool, 60_000);
  await directory.resolve([project]);
  assert.equal(directory.organizationOf(project), acme);
  const late = (await createProject(pool, other, 'late')).project.id;
  await directory.resolve([late]);
  assert.equal(directory.organizationOf(late), null, 'read less than an interval ago');
  const fresh = new ProjectDirectory(pool, 0);
  await fresh.resolve([late]);
  assert.equal(fresh.organizationOf(late), other);
  assert.equal(fresh.organizationOf(999_999), null);
});
