import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createProject, listAlertEvents } from '@vigil/db';
import { ApiHarness, assertError, assertOk } from '../../testing/api-harness';
import { seedAlerts } from '../../testing/seed-alerts';

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start();
});
after(async () => h.stop());

async function tenant() {
  const t = await h.tenant();
  const { project } = await createProject(h.pool, t.org.id, 'web');
  return { ...t, project };
}

test('list newest first with cursor pages and filters; get with evidence', async () => {
  const { token, project } = await tenant();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    ids.push(...(await seedAlerts(h.pool, [{ project_id: project.id, severity: i % 2 ? 'critical' : 'low', rule_id: i < 3 ? 'r1' : 'r2' }])));
    await new Promise((r) => setTimeout(r, 3)); // distinct creation times
  }
  const newest = [...ids].reverse();
  const seen: string[] = [];
  let after: string | null = null;
  do {
    const res = await h.get(`/v1/alerts?limit=3${after ? `&after=${after}` : ''}`, { token });
    assertOk(res);
    seen.push(...res.body.data.map((a: { id: string }) => a.id));
    after = res.body.pagination.next_cursor;
  } while (after);
  assert.deepEqual(seen, newest);
  const critical = await h.get('/v1/alerts?severity=critical', { token });
  assert.deepEqual(critical.body.data.map((a: { id: string }) => a.id), newest.filter((_, i) => (6 - i) % 2 === 1));
  assert.equal((await h.get('/v1/alerts?rule=r1', { token })).body.data.length, 3);
  assert.equal((await h.get(`/v1/alerts?status=open,acknowledged&project=${project.slug}`, { token })).body.data.length, 7);
  assert.equal((await h.get('/v1/alerts?status=resolved', { token })).body.data.length, 0);
  const one = await h.get(`/v1/alerts/${ids[0]}`, { token });
  assertOk(one);
  assert.deepEqual(one.body.data.evidence, { sample_event_ids: ['a'.repeat(32)] });
  assert.deepEqual(one.body.data.events.map((e: { type: string }) => e.type), ['alert.created']);
  assertError(await h.get('/v1/alerts?status=closed', { token }), 400, 'validation_error');
  assertError(await h.get(`/v1/alerts/${'f'.repeat(32)}`, { token }), 404, 'not_found');
});

test('list pages (rendered by PostgreSQL) show every field as the alert by id does, open, acknowledged and resolved', async () => {
  const { token, project } = await tenant();
  const ids = await seedAlerts(h.pool, [
    { project_id: project.id, value: 0.1 + 0.2, threshold: 1e-7, group_values: { user: 'é "q" \\ 𝄞', host: '' }, group_key: '["é","x"]', tags: [] },
    { project_id: project.id, value: 123456789.5, threshold: 3, tags: ['a', 'b "c"'], title: 'line\nbreak\ttab' },
    { project_id: project.id },
  ]);
  assertOk(await h.post(`/v1/alerts/${ids[1]}/acknowledge`, undefined, { token }));
  assertOk(await h.post(`/v1/alerts/${ids[2]}/resolve`, undefined, { token }));
  const list = await h.get('/v1/alerts?limit=10', { token });
  assertOk(list);
  assert.equal(list.body.data.length, 3);
  for (const alert of list.body.data) {
    const one = await h.get(`/v1/alerts/${alert.id}`, { token });
    assertOk(one);
    const { evidence: _evidence, events: _events, ...fields } = one.body.data;
    assert.deepEqual(alert, fields);
  }
  const byId = new Map(list.body.data.map((a: { id: string }) => [a.id, a]));
  assert.equal((byId.get(ids[0]!) as { value: number }).value, 0.1 + 0.2);
  assert.ok((byId.get(ids[1]!) as { acknowledged_at: string | null }).acknowledged_at);
  assert.ok((byId.get(ids[2]!) as { resolved_at: string | null }).resolved_at);
});

test('cursor pages over alerts created in the same instant: every one exactly once, ties ordered by id', async () => {
  const { token, project } = await tenant();
  // One insert: every alert gets the same created_at.
  const ids = await seedAlerts(h.pool, Array.from({ length: 5 }, () => ({ project_id: project.id })));
  const times = await h.pool.query<{ n: number }>('select count(distinct created_at)::int as n from alerts where id = any($1::text[])', [ids]);
  assert.equal(times.rows[0]!.n, 1, 'the alerts share their creation time');
  const seen: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 10; page++) {
    const res = await h.get(`/v1/alerts?limit=1${after ? `&after=${after}` : ''}`, { token });
    assertOk(res);
    assert.ok(res.body.data.length <= 1);
    seen.push(...res.body.data.map((a: { id: string }) => a.id));
    after = res.body.pagination.next_cursor;
    if (!after) break;
  }
  assert.equal(after, null, 'the pages end');
  assert.deepEqual(seen, [...ids].sort().reverse(), 'no duplicates, no gaps, newest id first within one instant');
});

test('since (inclusive) and until (exclusive) bound the creation time', async () => {
  const { token, project } = await tenant();
  const ids = await seedAlerts(h.pool, Array.from({ length: 3 }, () => ({ project_id: project.id })));
  const t0 = Date.parse('2026-03-01T10:00:00Z');
  const at = (hours: number) => new Date(t0 + hours * 3_600_000).toISOString();
  for (const [i, id] of ids.entries()) await h.pool.query('update alerts set created_at = $2 where id = $1', [id, at(i)]);
  const list = async (query: string) => {
    const res = await h.get(`/v1/alerts?${query}`, { token });
    assertOk(res);
    return res.body.data.map((a: { id: string }) => a.id);
  };
  assert.deepEqual(await list(`since=${at(1)}`), [ids[2], ids[1]], 'since is inclusive');
  assert.deepEqual(await list(`until=${at(1)}`), [ids[0]], 'until is exclusive');
  assert.deepEqual(await list(`since=${at(1)}&until=${at(2)}`), [ids[1]]);
  assert.deepEqual(await list(`since=${encodeURIComponent('2026-03-01T11:30:00+01:00')}`), [ids[2], ids[1]], 'offsets are honoured');
  assert.deepEqual(await list(`since=${at(3)}`), []);
  assertError(await h.get(`/v1/alerts?since=${at(2)}&until=${at(1)}`, { token }), 400, 'validation_error');
  assertError(await h.get('/v1/alerts?since=yesterday', { token }), 400, 'validation_error');
});

test('acknowledge then resolve: who and when recorded, alert.updated and alert.resolved queued for the topic', async () => {
  const { org, project } = await tenant();
  const { token } = await h.token(org.id, ['alerts:read', 'alerts:write']);
  await h.pool.query("update api_tokens set name = 'oncall-alice' where organization_id = $1", [org.id]);
  const [id] = await seedAlerts(h.pool, [{ project_id: project.id }]);
  const ack = await h.post(`/v1/alerts/${id}/acknowledge`, undefined, { token });
  assertOk(ack);
  assert.equal(ack.body.data.status, 'acknowledged');
  assert.equal(ack.body.data.acknowledged_by, 'oncall-alice');
  assert.ok(Math.abs(Date.parse(ack.body.data.acknowledged_at) - Date.now()) < 60_000);
  const ackAgain = await h.post(`/v1/alerts/${id}/acknowledge`, undefined, { token });
  assert.equal(ackAgain.body.data.acknowledged_at, ack.body.data.acknowledged_at, 'acknowledging twice changes nothing');
  const resolved = await h.post(`/v1/alerts/${id}/resolve`, undefined, { token });
  assertOk(resolved);
  assert.equal(resolved.body.data.status, 'resolved');
  assert.equal(resolved.body.data.resolved_by, 'oncall-alice');
  assertError(await h.post(`/v1/alerts/${id}/acknowledge`, undefined, { token }), 409, 'conflict');
  const events = await listAlertEvents(h.pool, org.id, id!);
  assert.deepEqual(
    events.map((e) => [e.event_type, e.record.status, e.record.actor]),
    [
      ['alert.created', 'open', null],
      ['alert.updated', 'acknowledged', 'oncall-alice'],
      ['alert.resolved', 'resolved', 'oncall-alice'],
    ],
  );
  assert.deepEqual(resolved.body.data.events.map((e: { type: string; actor: string | null }) => [e.type, e.actor]), [
    ['alert.created', null],
    ['alert.updated', 'oncall-alice'],
    ['alert.resolved', 'oncall-alice'],
  ]);
});

test('another organization gets 404 for the alerts, through the project filter too', async () => {
  const a = await tenant();
  const b = await tenant();
  const [id] = await seedAlerts(h.pool, [{ project_id: a.project.id }]);
  assertError(await h.get(`/v1/alerts/${id}`, { token: b.token }), 404, 'not_found');
  assertError(await h.post(`/v1/alerts/${id}/acknowledge`, undefined, { token: b.token }), 404, 'not_found');
  assertError(await h.post(`/v1/alerts/${id}/resolve`, undefined, { token: b.token }), 404, 'not_found');
  assertError(await h.get(`/v1/alerts?project=${a.project.id}`, { token: b.token }), 404, 'not_found');
  assert.deepEqual((await h.get('/v1/alerts', { token: b.token })).body.data, []);
  assert.equal((await h.get(`/v1/alerts/${id}`, { token: a.token })).body.data.status, 'open');
});
