import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isolatedDatabase } from '@vigil/testkit';
import type pg from 'pg';
import {
  createOrganization,
  createPool,
  createProject,
  createWebhook,
  deleteWebhook,
  disableWebhook,
  enableWebhook,
  failMessages,
  getMessage,
  getWebhook,
  insertMessages,
  listAttempts,
  listMessages,
  listWebhooks,
  loadDeliverableMessages,
  migrate,
  claimOverduePendingMessages,
  parkMessages,
  unparkMessages,
  prepareRedelivery,
  recordAttempts,
  rotateWebhookSecret,
  signingSecrets,
  subscriptionsForProjects,
  updateWebhook,
  type AttemptRecord,
} from './index';

let pool: pg.Pool;
let orgId: number;
let otherOrgId: number;
let projectA: number;
let projectB: number;

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;
/** A syntactically valid message id: msg_ + 32 random base32 characters. */
const msgId = () => `msg_${Array.from(randomBytes(32), (b) => 'abcdefghijklmnopqrstuvwxyz234567'[b & 31]).join('')}`;

before(async () => {
  const url = await isolatedDatabase();
  await migrate({ databaseUrl: url });
  pool = createPool(url);
  orgId = (await createOrganization(pool, 'acme')).id;
  otherOrgId = (await createOrganization(pool, 'other')).id;
  projectA = (await createProject(pool, orgId, 'web')).project.id;
  projectB = (await createProject(pool, orgId, 'api')).project.id;
});
after(() => pool.end());

async function message(webhookId: string, type: 'alert.created' | 'webhook.test' = 'alert.created') {
  const id = msgId();
  const eventId = `test:${id}`;
  const pending = await insertMessages(
    pool,
    [{ id: eventId, organizationId: orgId, projectId: projectA, type, alertId: null, payload: `{"n":"${id}"}`, occurredAt: new Date() }],
    [{ id, webhookId, eventId }],
  );
  assert.deepEqual(pending, [{ id, webhook_id: webhookId, job_id: id }]);
  return id;
}

function attempt(messageId: string, webhookId: string, over: Partial<AttemptRecord> = {}): AttemptRecord {
  return {
    messageId,
    webhookId,
    trigger: 'scheduled',
    startedAt: new Date(),
    durationMs: 12.5,
    url: 'https://example.com/hook',
    statusCode: 500,
    errorClass: 'http_server_error',
    error: 'HTTP 500',
    responseHeaders: { 'content-type': 'text/plain' },
    responseBody: 'oops',
    responseBodyTruncated: false,
    remoteAddress: '93.184.215.14',
    messageStatus: 'pending',
    failureReason: null,
    nextAttemptAt: new Date(Date.now() + 5000),
    endpointResult: 'failure',
    ...over,
  };
}

test('endpoints: create, read and update within their organization only', async () => {
  const hook = await createWebhook(pool, {
    organizationId: orgId,
    url: 'https://example.com/hook',
    secret: secret(),
    projectIds: [projectA],
    eventTypes: ['alert.created', 'alert.created', 'alert.resolved'],
    minSeverity: 'high',
    headers: { authorization: 'Bearer x' },
    description: 'pager',
  });
  assert.deepEqual(hook.project_ids, [projectA]);
  assert.deepEqual(hook.event_types, ['alert.created', 'alert.resolved']);
  assert.equal(hook.status, 'enabled');
  assert.deepEqual(hook.headers, { authorization: 'Bearer x' });
  assert.equal((await getWebhook(pool, orgId, hook.id))?.url, 'https://example.com/hook');
  assert.equal(await getWebhook(pool, otherOrgId, hook.id), null, 'another organization does not see it');
  assert.equal(await getWebhook(pool, orgId, 'not-a-uuid'), null);

  const updated = await updateWebhook(pool, orgId, hook.id, { url: 'https://example.org/h', projectIds: null, minSeverity: null });
  assert.equal(updated?.url, 'https://example.org/h');
  assert.equal(updated?.project_ids, null);
  assert.equal(updated?.min_severity, null);
  assert.equal(updated?.description, 'pager', 'fields not in the patch stay');
  assert.equal(await updateWebhook(pool, otherOrgId, hook.id, { url: 'https://evil.example/' }), null);

  const page = await listWebhooks(pool, orgId);
  assert.ok(page.items.some((w) => w.id === hook.id));
  assert.equal(page.total, page.items.length);
  assert.equal((await listWebhooks(pool, otherOrgId)).total, 0);
});

test('the table refuses malformed secrets, URLs, types and a reused secret', async () => {
  const base = { organizationId: orgId, url: 'https://example.com/' };
  await assert.rejects(createWebhook(pool, { ...base, secret: 'plain' }));
  await assert.rejects(createWebhook(pool, { ...base, secret: secret(), url: 'ftp://example.com/' }));
  await assert.rejects(createWebhook(pool, { ...base, secret: secret(), eventTypes: ['alert.deleted' as never] }));
  const shared = secret();
  await createWebhook(pool, { ...base, secret: shared });
  await assert.rejects(createWebhook(pool, { ...base, secret: shared }), { code: '23505' });
});

test('rotation keeps the previous secret signing during the grace period only', async () => {
  const first = secret();
  const hook = await createWebhook(pool, { organizationId: orgId, url: 'https://example.com/', secret: first });
  assert.deepEqual(signingSecrets(hook), [first]);
  const second = secret();
  const rotated = (await rotateWebhookSecret(pool, orgId, hook.id, second))!;
  assert.deepEqual(signingSecrets(rotated), [second, first]);
  const graceMs = rotated.previous_secret_expires_at!.getTime() - Date.now();
  assert.ok(graceMs > 23.9 * 3600_000 && graceMs <= 24 * 3600_000, `default grace 24 h, got ${graceMs} ms`);
  assert.deepEqual(signingSecrets(rotated, new Date(Date.now() + 25 * 3600_000)), [second], 'after the grace period');
  const id = await message(hook.id);
  const [loaded] = await loadDeliverableMessages(pool, [id]);
  assert.deepEqual(loaded?.secrets, [second, first], 'the delivery read signs with both');

  const third = secret();
  const immediate = (await rotateWebhookSecret(pool, orgId, hook.id, third, 0))!;
  assert.deepEqual(signingSecrets(immediate), [third], 'no grace: the old secret stops at once');
  assert.equal(await rotateWebhookSecret(pool, otherOrgId, hook.id, secret()), null);
});

test('subscriptions: enabled endpoints of the project organization whose project filter admits it', async () => {
  const org = (await createOrganization(pool, 'subs')).id;
  const p1 = (await createProject(pool, org, 'one')).project.id;
  const p2 = (await createProject(pool, org, 'two')).project.id;
  const all = await createWebhook(pool, { organizationId: org, url: 'https://a.example/', secret: secret() });
  const onlyP2 = await createWebhook(pool, { organizationId: org, url: 'https://b.example/', secret: secret(), projectIds: [p2] });
  const off = await createWebhook(pool, { organizationId: org, url: 'https://c.example/', secret: secret() });
  await disableWebhook(pool, org, off.id);
  const subs = await subscriptionsForProjects(pool, [p1, p2, p2, 999_999]);
  const pairs = subs.map((s) => `${s.project_id}:${s.webhook_id}`).sort();
  assert.deepEqual(pairs, [`${p1}:${all.id}`, `${p2}:${all.id}`, `${p2}:${onlyP2.id}`].sort());
  assert.ok(subs.every((s) => s.organization_id === org));
});

test('messages are stored once; a replay returns only those still pending', async () => {
  const hook = await createWebhook(pool, { organizationId: orgId, url: 'https://example.com/', secret: secret() });
  const id = await message(hook.id);
  const replay = () =>
    insertMessages(
      pool,
      [{ id: `test:${id}`, organizationId: orgId, projectId: projectA, type: 'alert.created', alertId: null, payload: 'changed', occurredAt: new Date() }],
      [{ id, webhookId: hook.id, eventId: `test:${id}` }, { id, webhookId: hook.id, eventId: `test:${id}` }],
    );
  assert.deepEqual(await replay(), [{ id, webhook_id: hook.id, job_id: id }], 'still pending: enqueue again (the job id dedupes)');
  assert.equal((await getMessage(pool, orgId, id))?.payload, `{"n":"${id}"}`, 'the first body is kept');
  await recordAttempts(pool, [attempt(id, hook.id, { statusCode: 200, errorClass: null, error: null, messageStatus: 'delivered', nextAttemptAt: null, endpointResult: 'success' })], { disableAfterMs: 86_400_000 });
  assert.deepEqual(await replay(), [], 'delivered: not enqueued again');
});

test('attempts are numbered per message and move the message and the endpoint failure run', async () => {
  const hook = await createWebhook(pool, { organizationId: orgId, url: 'https://example.com/', secret: secret() });
  const a = await message(hook.id);
  const b = await message(hook.id);
  const t0 = new Date(Date.now() - 60_000);
  const first = await recordAttempts(pool, [attempt(a, hook.id, { startedAt: t0 }), attempt(b, hook.id)], { disableAfterMs: 86_400_000 });
  assert.deepEqual([...first.attempts.entries()].sort(), [[a, 1], [b, 1]].sort());
  let state = (await getWebhook(pool, orgId, hook.id))!;
  assert.equal(state.failure_count, 2);
  assert.equal(state.first_failure_at?.getTime(), t0.getTime());

  const second = await recordAttempts(pool, [attempt(a, hook.id, { responseBody: 'x'.repeat(4096), responseBodyTruncated: true })], { disableAfterMs: 86_400_000 });
  assert.equal(second.attempts.get(a), 2);
  state = (await getWebhook(pool, orgId, hook.id))!;
  assert.equal(state.failure_count, 3);
  assert.equal(state.first_failure_at?.getTime(), t0.getTime(), 'the run goes on');

  // A success resets the run; failures after it in the same batch start a new one.
  const t1 = new Date();
  await recordAttempts(
    pool,
    [
      attempt(a, hook.id, { statusCode: 204, errorClass: null, error: null, messageStatus: 'delivered', nextAttemptAt: null, endpointResult: 'success' }),
      attempt(b, hook.id, { startedAt: t1 }),
    ],
    { disableAfterMs: 86_400_000 },
  );
  state = (await getWebhook(pool, orgId, hook.id))!;
  assert.equal(state.failure_count, 1);
  assert.equal(state.first_failure_at?.getTime(), t1.getTime());
  assert.ok(state.last_success_at);

  const log = await listAttempts(pool, orgId, { messageId: a });
  assert.deepEqual(log.map((x) => [x.attempt, x.status_code, x.error_class]), [[3, 204, null], [2, 500, 'http_server_error'], [1, 500, 'http_server_error']]);
  assert.equal(log[1]?.response_body.length, 4096);
  assert.equal(log[1]?.response_body_truncated, true);
  assert.deepEqual(log[0]?.response_headers, { 'content-type': 'text/plain' });
  assert.equal((await getMessage(pool, orgId, a))?.status, 'delivered');
  assert.deepEqual(await listAttempts(pool, otherOrgId, { messageId: a }), []);
  await assert.rejects(
    recordAttempts(pool, [attempt(a, hook.id, { responseBody: 'é'.repeat(2049) })], { disableAfterMs: 86_400_000 }),
    'more than 4 KiB of body is refused',
  );
});

test('410 disables at once; an unbroken run of failures disables after the period', async () => {
  const gone = await createWebhook(pool, { organizationId: orgId, url: 'https://example.com/', secret: secret() });
  const m1 = await message(gone.id);
  const result = await recordAttempts(
    pool,
    [attempt(m1, gone.id, { statusCode: 410, errorClass: 'http_gone', messageStatus: 'failed', failureReason: 'endpoint_gone', nextAttemptAt: null, endpointResult: 'gone' })],
    { disableAfterMs: 86_400_000 },
  );
  assert.deepEqual(result.disabled, [{ webhookId: gone.id, reason: 'endpoint_gone' }]);
  const disabled = (await getWebhook(pool, orgId, gone.id))!;
  assert.equal(disabled.status, 'disabled');
  assert.equal(disabled.disabled_reason, 'endpoint_gone');
  assert.ok(disabled.disabled_at);

  const failing = await createWebhook(pool, { organizationId: orgId, url: 'https://example.com/', secret: secret() });
  const m2 = await message(failing.id);
  const old = new Date(Date.now() - 2 * 3600_000);
  const within = await recordAttempts(pool, [attempt(m2, failing.id, { startedAt: old })], { disableAfterMs: 3 * 3600_000 });
  assert.deepEqual(within.disabled, [], 'failing for 2 h of a 3 h period');
  const past = await recordAttempts(pool, [attempt(m2, failing.id)], { disableAfterMs: 3600_000 });
  assert.deepEqual(past.disabled, [{ webhookId: failing.id, reason: 'failing' }]);
  const state = (await getWebhook(pool, orgId, failing.id))!;
  assert.match(state.disabled_message ?? '', /^every attempt failed since \d{4}-/);
  const again = await recordAttempts(pool, [attempt(m2, failing.id)], { disableAfterMs: 3600_000 });
  assert.deepEqual(again.disabled, [], 'reported once, when it happens');

  const [loaded] = await loadDeliverableMessages(pool, [m2]);
  assert.equal(loaded?.webhook_status, 'disabled');
  assert.deepEqual(await failMessages(pool, [m2], 'endpoint_disabled'), [m2]);
  assert.equal((await getMessage(pool, orgId, m2))?.failure_reason, 'endpoint_disabled');

  const enabled = (await enableWebhook(pool, orgId, failing.id))!;
  assert.equal(enabled.status, 'enabled');
  assert.equal(enabled.failure_count, 0);
  assert.equal(enabled.first_failure_at, null);
});

test('redelivery: a finished message returns to pending under a new job id, keeping its id and numbering', async () => {
  const hook = await createWebhook(pool, { organizationId: orgId, url: 'https://example.com/', secret: secret() });
  const id = await message(hook.id);
  assert.deepEqual(await prepareRedelivery(pool, orgId, id), { kind: 'pending', message: { id, webhook_id: hook.id, job_id: id } });
  await recordAttempts(pool, [attempt(id, hook.id, { messageStatus: 'failed', failureReason: 'attempts_exhausted', nextAttemptAt: null })], { disableAfterMs: 86_400_000 });
  assert.deepEqual(await prepareRedelivery(pool, orgId, id), { kind: 'requeued', message: { id, webhook_id: hook.id, job_id: `${id}.r1` } });
  const again = (await getMessage(pool, orgId, id))!;
  assert.equal(again.status, 'pending');
  assert.equal(again.failure_reason, null);
  assert.equal(again.attempts, 1);
  assert.deepEqual(await prepareRedelivery(pool, otherOrgId, id), { kind: 'not_found' });
  assert.deepEqual(await prepareRedelivery(pool, orgId, 'msg_nope'), { kind: 'not_found' });
  const overdue = await claimOverduePendingMessages(pool, new Date(Date.now() + 1000), 1000);
  assert.ok(overdue.some((m) => m.id === id && m.job_id === `${id}.r1`));
  const listed = await listMessages(pool, orgId, hook.id);
  assert.deepEqual(listed.map((m) => m.id), [id]);
});

test('parked messages come back oldest first, per endpoint or when parked too long, and not from the overdue sweep', async () => {
  const hook = await createWebhook(pool, { organizationId: orgId, url: 'https://example.com/', secret: secret() });
  const other = await createWebhook(pool, { organizationId: orgId, url: 'https://example.com/', secret: secret() });
  const first = await message(hook.id);
  const second = await message(hook.id);
  const elsewhere = await message(other.id);
  await parkMessages(pool, [first]);
  await parkMessages(pool, [second, elsewhere]);
  await parkMessages(pool, [first]); // already parked: keeps its place
  const overdue = await claimOverduePendingMessages(pool, new Date(Date.now() + 1000), 1000);
  assert.ok(!overdue.some((m) => [first, second, elsewhere].includes(m.id)), 'parked messages are not the sweep\'s');
  assert.deepEqual((await unparkMessages(pool, { webhookId: hook.id, limit: 1 })).map((m) => m.id), [first]);
  assert.deepEqual((await unparkMessages(pool, { webhookId: hook.id, limit: 10 })).map((m) => [m.id, m.job_id]), [[second, second]]);
  assert.deepEqual(await unparkMessages(pool, { webhookId: hook.id, limit: 10 }), []);
  assert.deepEqual(await unparkMessages(pool, { parkedBefore: new Date(Date.now() - 60_000), limit: 10 }), [], 'not parked long enough');
  const stale = await unparkMessages(pool, { parkedBefore: new Date(Date.now() + 1000), limit: 10 });
  assert.deepEqual(stale.map((m) => m.id), [elsewhere]);
  // A finished message is neither parked nor given back.
  await parkMessages(pool, [first]);
  await recordAttempts(pool, [attempt(first, hook.id, { statusCode: 200, errorClass: null, error: null, messageStatus: 'delivered', nextAttemptAt: null, endpointResult: 'success' })], { disableAfterMs: 86_400_000 });
  assert.deepEqual(await unparkMessages(pool, { webhookId: hook.id, limit: 10 }), []);
});

test('deleting an endpoint removes its messages and attempts', async () => {
  const hook = await createWebhook(pool, { organizationId: orgId, url: 'https://example.com/', secret: secret() });
  const id = await message(hook.id);
  await recordAttempts(pool, [attempt(id, hook.id)], { disableAfterMs: 86_400_000 });
  assert.equal(await deleteWebhook(pool, otherOrgId, hook.id), false);
  assert.equal(await deleteWebhook(pool, orgId, hook.id), true);
  assert.equal(await getMessage(pool, orgId, id), null);
  assert.deepEqual(await listAttempts(pool, orgId, { messageId: id }), []);
  // Recording for a message that no longer exists writes nothing and does not fail.
  const late = await recordAttempts(pool, [attempt(id, hook.id)], { disableAfterMs: 86_400_000 });
  assert.equal(late.attempts.size, 0);
});
