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

test('class and severity filters of several values, and q, over several projects: cursor pages hold exactly the matching events', async () => {
  const { token, projects } = await tenantWithProjects(3);
  const classes = ['security', 'network', 'audit', 'error'] as const;
  const severities = ['critical', 'high', 'medium', 'low', 'info'] as const;
  const words = ['denied', 'token', 'expired', 'root'];
  const seeded: SeedEvent[] = [];
  for (let i = 0; i < 90; i++) {
    seeded.push({
      projectId: projects[i % 3]!.id,
      timestamp: at(500 + Math.floor(i / 3)),
      class: classes[(i * 7) % 4],
      severity: severities[(i * 3) % 5],
      message: `${words[i % 4]} ${words[(i >> 2) % 4]} event ${i}`,
    });
  }
  const ids = await seedEvents(h.pool, seeded);
  const newestFirst = (keep: (e: SeedEvent) => boolean) =>
    seeded
      .map((e, i) => ({ e, id: ids[i]! }))
      .filter(({ e }) => keep(e))
      .sort((a, b) => b.e.timestamp.getTime() - a.e.timestamp.getTime() || (a.id < b.id ? 1 : -1))
      .map(({ id }) => id);
  const cases: Array<[string, (e: SeedEvent) => boolean]> = [
    ['class=security,network&severity=high,critical', (e) => ['security', 'network'].includes(e.class!) && ['high', 'critical'].includes(e.severity!)],
    ['class=audit&severity=low,info,medium', (e) => e.class === 'audit' && ['low', 'info', 'medium'].includes(e.severity!)],
    ['severity=critical,info', (e) => ['critical', 'info'].includes(e.severity!)],
    ['class=error,audit', (e) => ['error', 'audit'].includes(e.class!)],
    ['q=expired', (e) => e.message!.split(' ').includes('expired')],
    ['q=denied%20root&class=security,audit', (e) => e.message!.includes('denied') && e.message!.includes('root') && ['security', 'audit'].includes(e.class!)],
  ];
  for (const [query, keep] of cases) {
    const expected = newestFirst(keep);
    assert.ok(expected.length > 4, `${query} matches several pages`);
    assert.deepEqual(await allPages(`/v1/events?${query}`, token, 4), expected, query);
  }
});

test('list pages (rendered by PostgreSQL) show every field exactly as the export and the event by id do', async () => {
  const { token, projects } = await tenantWithProjects(1);
  const pid = projects[0]!.id;
  await h.pool.query("select vigil_ensure_daily_partitions('events'::regclass, '2026-03-05', '2026-03-05')");
  // Every column filled in some row and empty in another: users partly known, IPv6, microseconds, awkward text and JSON.
  const rows: Array<[string, string | null, string | null, string | null, string | null, string | null, string | null, string, string, string[]]> = [
    ['2026-03-05T10:00:00.123456Z', 'm "quoted" \\ back\nslash\ttab \u0001 ctrl é 𝄞 </script>', 'alice', null, null, null, '2001:db8::7', '{"host": "web-1", "n": 1.50, "big": 12345678901234567, "nested": {"a": [1, "x", null, true]}, "é": "ü"}', '{"attempts": 3, "empty": {}, "list": []}', ['a', 'b "c"']],
    ['2026-03-05T10:00:01.999999Z', '', null, 'bob@example.com', 'bob', '::ffff:10.0.0.1', '198.51.100.7', '{}', '{}', []],
    ['2026-03-05T10:00:02.000001Z', null, null, null, null, null, null, '{"k": "v"}', '{"z": -0.0001, "e": 1e3}', ['x']],
    ['2026-03-05T10:00:03Z', 'plain', null, null, null, '203.0.113.9', null, '{}', '{}', []],
  ];
  const ids: string[] = [];
  for (const [i, [ts, message, userId, email, username, userIp, clientIp, tags, attributes, fingerprint]] of rows.entries()) {
    const id = `0000000000000000000000000000000${i}`;
    ids.push(id);
    await h.pool.query(
      `insert into event_ids (project_id, event_id, timestamp) values ($1, $2, $3)`,
      [pid, id, ts],
    );
    await h.pool.query(
      `insert into events (project_id, event_id, timestamp, received_at, source, class, severity, type, message, exception_type, exception_value,
         platform, release, environment, tags, user_id, user_email, user_username, user_ip_address, fingerprint, client_ip, sdk_name, sdk_version,
         attributes, raw)
       values ($1, $2, $3, $3::timestamptz + interval '1.5 second', $4, 'error', 'medium', 'exception', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
         $16, $17, $18, $19, $20, '\\x7b7d')`,
      [pid, id, ts, i % 2 ? 'sentry' : 'native', message, i === 0 ? 'TypeError' : null, i === 0 ? 'x is "undefined"' : null, i === 1 ? 'node' : null,
        i === 1 ? 'web@1.2.3' : null, i === 1 ? 'production' : null, tags, userId, email, username, userIp, fingerprint, clientIp,
        i === 1 ? 'sentry.javascript.node' : null, i === 1 ? '8.0.0' : null, attributes],
    );
  }
  const list = await h.get('/v1/events?limit=10', { token });
  assertOk(list);
  const exported = (await h.get('/v1/events/export', { token })).text.trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(list.body.data, exported);
  assert.deepEqual(list.body.data.map((e: { id: string }) => e.id), [...ids].reverse());
  for (const event of list.body.data) {
    const one = await h.get(`/v1/events/${event.id}`, { token });
    assertOk(one);
    const { raw, ...fields } = one.body.data;
    assert.deepEqual(raw, {});
    assert.deepEqual(event, fields);
  }
  const [last, , , first] = list.body.data;
  assert.equal(first.timestamp, '2026-03-05T10:00:00.123Z');
  assert.equal(first.received_at, '2026-03-05T10:00:01.623Z');
  assert.deepEqual(first.user, { id: 'alice', email: null, username: null, ip_address: null });
  assert.equal(first.client_ip, '2001:db8::7');
  assert.equal(first.message, 'm "quoted" \\ back\nslash\ttab \u0001 ctrl é 𝄞 </script>');
  assert.deepEqual(first.fingerprint, ['a', 'b "c"']);
  assert.equal(first.tags.big, 12345678901234567);
  assert.deepEqual(last.user, { id: null, email: null, username: null, ip_address: '203.0.113.9' });
  assert.equal(last.message, 'plain');
  assert.equal(list.body.data[1].user, null);
  assert.equal(list.body.data[1].message, null);
  assert.equal(list.body.data[2].user.ip_address, '::ffff:10.0.0.1');
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

test('identical concurrent list requests of one organization share one query; other organizations never share it', async () => {
  const a = await tenantWithProjects(1);
  const b = await tenantWithProjects(1);
  await seedEvents(h.pool, [
    ...Array.from({ length: 6 }, (_, i) => ({ projectId: a.projects[0]!.id, timestamp: at(i), class: 'security' as const })),
    ...Array.from({ length: 6 }, (_, i) => ({ projectId: b.projects[0]!.id, timestamp: at(i), class: 'security' as const })),
  ]);
  const idsOf = async (token: string) => (await h.get('/v1/events?class=security&limit=4', { token })).body.data.map((e: { id: string }) => e.id);
  const expectedA = await idsOf(a.token);
  const expectedB = await idsOf(b.token);
  assert.equal(expectedA.length, 4);
  assert.equal(new Set([...expectedA, ...expectedB]).size, 8, 'the two organizations have different events');

  const counts = async () => {
    const text = await (await fetch(`${h.base}/metrics`)).text();
    const value = (result: string) => Number(new RegExp(`^vigil_api_shared_reads_total\\{result="${result}"[^}]*\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { led: value('led'), joined: value('joined') };
  };
  const before = await counts();
  // Hold every events query until all requests have arrived: a lock on the table they read.
  const lock = await h.pool.connect();
  try {
    await lock.query('begin');
    await lock.query('lock table events in access exclusive mode');
    const n = 10;
    const pending = [];
    for (let i = 0; i < n; i++) {
      // The same query with its parameters in either order.
      const path = i % 2 === 0 ? '/v1/events?class=security&limit=4' : '/v1/events?limit=4&class=security';
      pending.push(h.get(path, { token: a.token }), h.get(path, { token: b.token }));
    }
    for (let i = 0; ; i++) {
      const now = await counts();
      if (now.led + now.joined - before.led - before.joined === 2 * n) break;
      assert.ok(i < 500, `only ${now.led + now.joined - before.led - before.joined} of ${2 * n} requests arrived`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await lock.query('rollback');
    const answers = await Promise.all(pending);
    for (let i = 0; i < answers.length; i++) {
      assertOk(answers[i]!);
      assert.deepEqual(
        answers[i]!.body.data.map((e: { id: string }) => e.id),
        i % 2 === 0 ? expectedA : expectedB,
      );
      assert.match(answers[i]!.body.meta.request_id, /^req_/);
    }
    assert.equal(new Set(answers.map((r) => r.body.meta.request_id)).size, answers.length, 'each response has its own request id');
    const after = await counts();
    assert.equal(after.led - before.led, 2, 'one query per organization');
    assert.equal(after.joined - before.joined, 2 * n - 2);
  } finally {
    await lock.query('rollback').catch(() => {});
    lock.release();
  }
});
