import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createProject } from '@vigil/db';
import { ApiHarness, assertError, assertOk } from '../../testing/api-harness';
import { seedEvents, type SeedEvent } from '../../testing/seed-events';

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start();
});
after(async () => h.stop());

const T0 = Date.parse('2026-03-01T12:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

async function tenantWithProjects(n: number) {
  const tenant = await h.tenant();
  const projects = [];
  for (let i = 0; i < n; i++) projects.push((await createProject(h.pool, tenant.org.id, `p${i}`)).project);
  return { ...tenant, projects };
}

async function allPages(path: string, token: string, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const res = await h.get(`${path}${sep}limit=${limit}${after ? `&after=${after}` : ''}`, { token });
    assertOk(res);
    ids.push(...res.body.data.map((e: { id: string }) => e.id));
    if (!res.body.pagination.has_more) {
      assert.equal(res.body.pagination.next_cursor, null);
      return ids;
    }
    after = res.body.pagination.next_cursor;
  }
  throw new Error('no last page');
}

test('empty: no events, no cursor', async () => {
  const { token } = await tenantWithProjects(1);
  const res = await h.get('/v1/events', { token });
  assertOk(res);
  assert.deepEqual(res.body.data, []);
  assert.deepEqual(res.body.pagination, { next_cursor: null, has_more: false });
});

test('newest first across projects; cursor pages cover every event once, ties on time split by id', async () => {
  const { token, projects } = await tenantWithProjects(3);
  const seeded: SeedEvent[] = [];
  for (let i = 0; i < 45; i++) seeded.push({ projectId: projects[i % 3]!.id, timestamp: at(Math.floor(i / 4)) });
  const ids = await seedEvents(h.pool, seeded);
  const expected = seeded
    .map((e, i) => ({ t: e.timestamp.getTime(), id: ids[i]! }))
    .sort((a, b) => b.t - a.t || (a.id < b.id ? 1 : -1))
    .map((e) => e.id);
  assert.deepEqual(await allPages('/v1/events', token, 7), expected);
  const exact = await h.get('/v1/events?limit=45', { token });
  assert.equal(exact.body.data.length, 45);
  assert.equal(exact.body.pagination.has_more, false, 'a last page that is exactly full has no next cursor');
  assert.deepEqual(await allPages(`/v1/events?project=${projects[1]!.slug}`, token, 4), expected.filter((id) => seeded[ids.indexOf(id)]!.projectId === projects[1]!.id));
});

test('a cursor stays valid while events arrive: no repeats, no gaps', async () => {
  const { token, projects } = await tenantWithProjects(2);
  const ids = await seedEvents(h.pool, Array.from({ length: 20 }, (_, i) => ({ projectId: projects[i % 2]!.id, timestamp: at(100 + i) })));
  const first = await h.get('/v1/events?limit=8', { token });
  const seen: string[] = first.body.data.map((e: { id: string }) => e.id);
  const boundary = first.body.data.at(-1);
  // Newer events, events at exactly the boundary's time, and older ones arrive meanwhile.
  const newer = await seedEvents(h.pool, Array.from({ length: 5 }, (_, i) => ({ projectId: projects[0]!.id, timestamp: at(200 + i) })));
  const sameTime = await seedEvents(h.pool, [{ projectId: projects[1]!.id, timestamp: new Date(boundary.timestamp) }]);
  const older = await seedEvents(h.pool, [{ projectId: projects[0]!.id, timestamp: at(50) }]);
  let after = first.body.pagination.next_cursor;
  while (after) {
    const res = await h.get(`/v1/events?limit=8&after=${after}`, { token });
    seen.push(...res.body.data.map((e: { id: string }) => e.id));
    after = res.body.pagination.next_cursor;
  }
  assert.equal(new Set(seen).size, seen.length, 'no event twice');
  for (const id of ids) assert.ok(seen.includes(id), 'every event present when the first page was read is on some page');
  for (const id of newer) assert.ok(!seen.includes(id), 'newer events do not shift later pages');
  assert.ok(seen.includes(older[0]!), 'an older event arriving later is on a later page');
  // The event at the boundary time sorts by id: before or after the cursor, never both.
  assert.ok(seen.filter((id) => id === sameTime[0]).length <= 1);
});

test('filters: class, severity (several), type, since/until, q', async () => {
  const { token, projects } = await tenantWithProjects(1);
  const pid = projects[0]!.id;
  const [a, b, c, d] = await seedEvents(h.pool, [
    { projectId: pid, timestamp: at(300), class: 'security', severity: 'high', type: 'auth.login_failed', message: 'bad password for alice' },
    { projectId: pid, timestamp: at(301), class: 'network', severity: 'low', type: 'port.scan', message: 'scan from 203.0.113.9' },
    { projectId: pid, timestamp: at(302), class: 'error', severity: 'critical', type: 'exception', message: 'TypeError: x is undefined' },
    { projectId: pid, timestamp: at(303), class: 'security', severity: 'info', type: 'auth.login', message: 'alice logged in' },
  ]);
  const ids = async (query: string) => {
    const res = await h.get(`/v1/events?${query}`, { token });
    assertOk(res);
    return res.body.data.map((e: { id: string }) => e.id);
  };
  assert.deepEqual(await ids('class=security'), [d, a]);
  assert.deepEqual(await ids('severity=high,critical'), [c, a]);
  assert.deepEqual(await ids('type=port.scan'), [b]);
  assert.deepEqual(await ids(`since=${at(301).toISOString()}&until=${at(303).toISOString()}`), [c, b]);
  assert.deepEqual(await ids('q=alice'), [d, a]);
  assert.deepEqual(await ids('q=203.0.113.9'), [b]);
  assert.deepEqual(await ids('q=alice%20-password'), [d]);
  assert.deepEqual(await ids('class=security&severity=info'), [d]);
  assertError(await h.get('/v1/events?class=bogus', { token }), 400, 'validation_error');
  assertError(await h.get(`/v1/events?since=${at(5).toISOString()}&until=${at(1).toISOString()}`, { token }), 400, 'validation_error');
  assertError(await h.get('/v1/events?since=yesterday', { token }), 400, 'validation_error');
  assertError(await h.get('/v1/events?after=garbage!', { token }), 400, 'validation_error');
  const alerts = Buffer.from('alerts|1|x').toString('base64url');
  assertError(await h.get(`/v1/events?after=${alerts}`, { token }), 400, 'validation_error');
});

test('one event by id, with its raw payload; dashed ids too', async () => {
  const { token, projects } = await tenantWithProjects(1);
  const [id] = await seedEvents(h.pool, [{ projectId: projects[0]!.id, timestamp: at(400), message: 'hello' }]);
  const res = await h.get(`/v1/events/${id}`, { token });
  assertOk(res);
  assert.equal(res.body.data.id, id);
  assert.equal(res.body.data.message, 'hello');
  assert.deepEqual(res.body.data.raw, { type: 'auth.login_failed', message: 'hello' });
  assert.deepEqual(res.body.data.user, { id: 'u-1', email: null, username: null, ip_address: null });
  const dashed = `${id!.slice(0, 8)}-${id!.slice(8, 12)}-${id!.slice(12, 16)}-${id!.slice(16, 20)}-${id!.slice(20)}`;
  assertOk(await h.get(`/v1/events/${dashed}`, { token }));
  assertError(await h.get(`/v1/events/${'0'.repeat(32)}`, { token }), 404, 'not_found');
  assertError(await h.get('/v1/events/xyz', { token }), 400, 'validation_error');
});

test('export: NDJSON of every matching event, newest first, across batches, with a limit', async () => {
  const { token, projects } = await tenantWithProjects(2);
  const ids = await seedEvents(h.pool, Array.from({ length: 2500 }, (_, i) => ({ projectId: projects[i % 2]!.id, timestamp: new Date(T0 + 86_400_000 + i * 1000), severity: i % 5 === 0 ? ('critical' as const) : ('low' as const) })));
  const res = await h.get('/v1/events/export', { token });
  assertOk(res);
  assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
  assert.equal(res.headers.get('transfer-encoding'), 'chunked', 'streamed, not buffered');
  assert.equal(res.headers.get('content-length'), null);
  const lines = res.text.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2500);
  assert.deepEqual(lines.map((e) => e.id), [...ids].reverse());
  const critical = await h.get(`/v1/events/export?severity=critical&project=${projects[0]!.id}`, { token });
  assert.equal(critical.text.trimEnd().split('\n').length, 250);
  const limited = await h.get('/v1/events/export?limit=1200', { token });
  assert.equal(limited.text.trimEnd().split('\n').length, 1200);
  const none = await h.get('/v1/events/export?type=nothing', { token });
  assertOk(none);
  assert.equal(none.text, '');
});

test('another organization: 404 for its event ids and projects, including through filters and exports', async () => {
  const a = await tenantWithProjects(1);
  const b = await tenantWithProjects(1);
  const [idA] = await seedEvents(h.pool, [{ projectId: a.projects[0]!.id, timestamp: at(500) }]);
  await seedEvents(h.pool, [{ projectId: b.projects[0]!.id, timestamp: at(500) }]);
  assertError(await h.get(`/v1/events/${idA}`, { token: b.token }), 404, 'not_found');
  assertError(await h.get(`/v1/events?project=${a.projects[0]!.id}`, { token: b.token }), 404, 'not_found');
  assertError(await h.get(`/v1/events/export?project=${a.projects[0]!.id}`, { token: b.token }), 404, 'not_found');
  const listB = await h.get('/v1/events', { token: b.token });
  assert.ok(!listB.body.data.some((e: { id: string }) => e.id === idA));
  const exportB = await h.get('/v1/events/export', { token: b.token });
  assert.ok(!exportB.text.includes(idA!));
  assert.equal(exportB.text.trimEnd().split('\n').length, 1);
});
