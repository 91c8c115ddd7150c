import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { before, test } from 'node:test';
import { createPool, hashToken, migrate, verifyApiToken } from '@vigil/db';
import { isolatedDatabase } from '@vigil/testkit';

const BIN = fileURLToPath(new URL('../bin/vigil.mjs', import.meta.url));
let env: NodeJS.ProcessEnv;

async function vigil(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

before(async () => {
  const url = await isolatedDatabase();
  await migrate({ databaseUrl: url });
  env = { ...process.env, DATABASE_URL: url, VIGIL_INGEST_ADDR: '127.0.0.1:18030' };
});

test('org, project and token creation print JSON that works', async () => {
  const org = await vigil('org', 'create', 'acme', '--name', 'Acme Corp', '--json');
  assert.equal(org.code, 0, org.stderr);
  assert.equal(JSON.parse(org.stdout).slug, 'acme');

  const project = await vigil('project', 'create', '--org', 'acme', 'Web', 'Shop', '--json');
  assert.equal(project.code, 0, project.stderr);
  const p = JSON.parse(project.stdout);
  assert.equal(p.name, 'Web Shop');
  assert.match(p.dsn, new RegExp(`^http://[0-9a-f]{32}@127\\.0\\.0\\.1:18030/${p.id}$`));

  const token = await vigil('token', 'create', '--org', 'acme', '--scopes', 'event:read,alerts:read', '--name', 'ci', '--expires', '30d', '--json');
  assert.equal(token.code, 0, token.stderr);
  const t = JSON.parse(token.stdout);
  assert.match(t.token, /^vgl_[0-9A-Za-z]{43}$/);
  assert.deepEqual(t.scopes, ['event:read', 'alerts:read']);
  assert.ok(t.id);
  const days = (new Date(t.expires_at).getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 29.9 && days <= 30, `expires in ${days} days`);

  const pool = createPool(env.DATABASE_URL!);
  try {
    const check = await verifyApiToken(pool, t.token);
    assert.equal(check.ok, true);
    const stored = await pool.query('select count(*)::int as n from api_tokens where token_hash = $1', [hashToken(t.token)]);
    assert.equal(stored.rows[0].n, 1);
    const key = await pool.query('select status from project_keys where project_id = $1', [p.id]);
    assert.deepEqual(key.rows, [{ status: 'active' }]);
  } finally {
    await pool.end();
  }
});

test('rules defaults stores the default pack for a project; running it again installs nothing new', async () => {
  await vigil('org', 'create', 'rulesorg');
  const p = JSON.parse((await vigil('project', 'create', '--org', 'rulesorg', 'Edge', '--json')).stdout);
  const first = await vigil('rules', 'defaults', '--project', String(p.id), '--json');
  assert.equal(first.code, 0, first.stderr);
  const installed = JSON.parse(first.stdout);
  assert.equal(installed.project, p.id);
  assert.ok(installed.created.length >= 5, first.stdout);
  assert.ok(installed.created.every((id: string) => id.startsWith(`default.p${p.id}.`)), first.stdout);
  assert.deepEqual(installed.existing, []);

  const again = await vigil('rules', 'defaults', '--project', 'edge', '--org', 'rulesorg');
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^nothing to install: project edge/);

  const blocklist = await vigil('rules', 'defaults', '--project', String(p.id), '--blocklist', '203.0.113.0/24', '--json');
  assert.equal(blocklist.code, 0, blocklist.stderr);
  assert.deepEqual(JSON.parse(blocklist.stdout).created, [`default.p${p.id}.blocklisted-destination`]);

  const pool = createPool(env.DATABASE_URL!);
  try {
    const { rows } = await pool.query('select count(*)::int as n from rules where project_id = $1', [p.id]);
    assert.equal(rows[0].n, installed.created.length + 1);
  } finally {
    await pool.end();
  }
  const missing = await vigil('rules', 'defaults', '--project', '999999');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no project "999999"/);
  const slugOnly = await vigil('rules', 'defaults', '--project', 'edge');
  assert.equal(slugOnly.code, 2);
  assert.match(slugOnly.stderr, /with --org/);
});

test('"all" grants every scope; human output shows the token once with a warning', async () => {
  await vigil('org', 'create', 'allscopes');
  const res = await vigil('token', 'create', '--org', 'allscopes', '--scopes', 'all');
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /^vgl_[0-9A-Za-z]{43}\n/);
  assert.match(res.stdout, /shown once/);
  assert.match(res.stdout, /scopes org:read,project:read,.*webhooks:write/);
});

test('mistakes are refused with a reason and a non-zero exit', async () => {
  const dup = await vigil('org', 'create', 'acme', '--json');
  assert.equal(dup.code, 1);
  assert.deepEqual(JSON.parse(dup.stdout), { error: { code: 'conflict', message: 'organization "acme" already exists' } });

  const scope = await vigil('token', 'create', '--org', 'acme', '--scopes', 'event:read,root');
  assert.equal(scope.code, 2);
  assert.match(scope.stderr, /unknown scope root; allowed: org:read/);

  const noOrg = await vigil('project', 'create', '--org', 'missing', 'x');
  assert.equal(noOrg.code, 2);
  assert.match(noOrg.stderr, /no organization "missing"/);

  const unknown = await vigil('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
});

test('a bad setting stops the command naming the variable, value and what is allowed', async () => {
  const saved = env;
  env = { ...saved, VIGIL_KAFKA_PORT: 'ninety', VIGIL_INGEST_ADDR: 'nowhere' };
  try {
    const res = await vigil('infra', 'status');
    assert.equal(res.code, 1);
    assert.match(res.stderr, /VIGIL_KAFKA_PORT="ninety": expected a port number/);
    assert.match(res.stderr, /VIGIL_INGEST_ADDR="nowhere": expected host:port/);
  } finally {
    env = saved;
  }
});
