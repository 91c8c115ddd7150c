import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createProject } from '@vigil/db';
import { uniquePrefix } from '@vigil/testkit';
import { ApiHarness, assertError, assertOk, type ApiResponse } from '../testing/api-harness';
import { operationsOf } from '../testing/path-fixtures';
import { seedAlerts } from '../testing/seed-alerts';
import { seedEvents } from '../testing/seed-events';
import { seedFlows } from '../testing/seed-flows';

let h: ApiHarness;
let token: string;

before(async () => {
  // Its own delivery queue: webhook test messages sent here are never picked up by a running worker.
  h = await ApiHarness.start({ VIGIL_API_BODY_LIMIT: '2048', VIGIL_DELIVERY_QUEUE_PREFIX: uniquePrefix('apiconv').replace(/\.$/, '') });
  ({ token } = await h.tenant());
});
after(async () => h.stop());

test('success envelope: data and meta with request id and timestamp; the id is also a header', async () => {
  const res = await h.get('/v1/organization', { token });
  assertOk(res);
  assert.deepEqual(Object.keys(res.body).sort(), ['data', 'meta']);
  assert.match(res.body.meta.request_id, /^req_[0-9A-Za-z]{20}$/);
  assert.equal(res.headers.get('x-request-id'), res.body.meta.request_id);
  assert.ok(Math.abs(Date.parse(res.body.meta.timestamp) - Date.now()) < 60_000);
  const again = await h.get('/v1/organization', { token });
  assert.notEqual(again.body.meta.request_id, res.body.meta.request_id);
});

test("the access log line of a request carries the response's X-Request-Id", async () => {
  for (const res of [await h.get('/v1/organization', { token }), await h.get('/v1/projects?colour=blue', { token }), await h.get('/v1/organization')]) {
    const id = res.headers.get('x-request-id');
    assert.match(id ?? '', /^req_/);
    const line = await h.log.find((l) => l.msg === 'request' && l.request_id === id);
    assert.equal(line.status, res.status);
    assert.equal(line.method, 'GET');
    assert.equal(line.service, 'api');
    if (res.status >= 400) assert.equal(line.code, res.body.error.code);
  }
  const ids = h.log.lines.filter((l) => l.msg === 'request').map((l) => l.request_id);
  assert.equal(new Set(ids).size, ids.length, 'one access line per request');
});

test('an incoming X-Request-Id is not echoed as ours', async () => {
  const res = await h.get('/v1/organization', { token, headers: { 'x-request-id': 'client-chosen' } });
  assertOk(res);
  assert.notEqual(res.body.meta.request_id, 'client-chosen');
});

test('unknown query parameters are refused, each named', async () => {
  const res = await h.get('/v1/projects?per_page=10&colour=blue&size=3', { token });
  assertError(res, 400, 'validation_error');
  assert.match(res.body.error.message, /colour, size/);
  assert.deepEqual(
    res.body.error.details.map((d: { field: string }) => d.field).sort(),
    ['colour', 'size'],
  );
  const none = await h.get('/v1/organization?x=1', { token });
  assertError(none, 400, 'validation_error');
  assert.deepEqual(none.body.error.details, [{ field: 'x', message: 'unknown query parameter' }]);
});

test('malformed and repeated query parameters name the field', async () => {
  const bad = await h.get('/v1/projects?per_page=abc', { token });
  assertError(bad, 400, 'validation_error');
  assert.deepEqual(bad.body.error.details, [{ field: 'per_page', message: 'expected a number' }]);
  const big = await h.get('/v1/projects?per_page=201', { token });
  assertError(big, 400, 'validation_error');
  assert.equal(big.body.error.details[0].field, 'per_page');
  const twice = await h.get('/v1/projects?page=1&page=2', { token });
  assertError(twice, 400, 'validation_error');
  assert.deepEqual(twice.body.error.details, [{ field: 'page', message: 'given more than once' }]);
});

test('NUL characters and over-long path parameters are refused as validation errors, never a 500', async () => {
  const query = await h.get('/v1/alerts?rule=a%00b', { token });
  assertError(query, 400, 'validation_error');
  assert.deepEqual(query.body.error.details, [{ field: 'rule', message: 'must not contain NUL (U+0000) characters' }]);
  const body = await h.post('/v1/webhooks', { url: 'https://receiver.example', description: 'x\u0000y' }, { token });
  assertError(body, 400, 'validation_error');
  assert.deepEqual(body.body.error.details, [{ field: 'description', message: 'must not contain NUL (U+0000) characters' }]);
  const long = await h.get(`/v1/rules/${'r'.repeat(2000)}`, { token });
  assertError(long, 400, 'validation_error');
  assert.deepEqual(long.body.error.details, [{ field: 'path', message: 'a path parameter is too long' }]);
  assert.match(long.headers.get('x-request-id') ?? '', /^req_/);
});

test('bodies: over the limit 413, not JSON 415, broken JSON 400, unknown fields 400, missing 400', async () => {
  const big = await h.post('/v1/projects', { name: 'x'.repeat(5000) }, { token });
  assertError(big, 413, 'payload_too_large');
  const form = await h.request('POST', '/v1/projects', { token, rawBody: 'name=x', contentType: 'application/x-www-form-urlencoded' });
  assertError(form, 415, 'unsupported_media_type');
  const broken = await h.request('POST', '/v1/projects', { token, rawBody: '{"name": ', contentType: 'application/json' });
  assertError(broken, 400, 'validation_error');
  assert.equal(broken.body.error.details[0].field, 'body');
  const extra = await h.post('/v1/projects', { name: 'ok', colour: 'blue' }, { token });
  assertError(extra, 400, 'validation_error');
  assert.deepEqual(extra.body.error.details, [{ field: 'colour', message: 'unknown field' }]);
  const missing = await h.request('POST', '/v1/projects', { token });
  assertError(missing, 400, 'validation_error');
  assert.deepEqual(missing.body.error.details, [{ field: 'body', message: 'a JSON body is required' }]);
  const empty = await h.request('POST', '/v1/projects', { token, rawBody: '', contentType: 'application/json' });
  assertError(empty, 400, 'validation_error');
  const wrongType = await h.post('/v1/projects', { name: 42 }, { token });
  assertError(wrongType, 400, 'validation_error');
  assert.deepEqual(wrongType.body.error.details, [{ field: 'name', message: 'expected string' }]);
});

test('unknown routes: 404 not_found; undeclared methods: 405 with Allow; both with rate-limit headers', async () => {
  const res = await h.get('/v1/nothing-here', { token });
  assertError(res, 404, 'not_found');
  assert.ok(res.headers.get('x-ratelimit-limit'));
  const method = await h.request('PUT', '/v1/organization', { token, body: {} });
  assertError(method, 405, 'method_not_allowed');
  assert.equal(method.headers.get('allow'), 'GET, HEAD');
  const list = await h.request('DELETE', '/v1/projects', { token });
  assertError(list, 405, 'method_not_allowed');
  assert.equal(list.headers.get('allow'), 'GET, HEAD, POST');
});

test('OpenAPI 3.1 document and the reference page', async () => {
  const res = await h.get('/v1/openapi.json');
  assertOk(res);
  assert.equal(res.body.openapi, '3.1.0');
  assert.ok(res.body.paths['/v1/projects'].get.responses['200']);
  assert.equal(res.body.paths['/v1/projects'].get['x-required-scope'], 'project:read');
  for (const [path, methods] of Object.entries(res.body.paths as Record<string, Record<string, { operationId: string; responses: Record<string, unknown> }>>)) {
    for (const [method, op] of Object.entries(methods)) {
      assert.ok(op.operationId, `${method} ${path} has an operationId`);
      assert.ok(op.responses['500'] && op.responses['429'] && op.responses['400'], `${method} ${path} documents the errors every endpoint can give`);
    }
  }
  const page = await h.get('/docs');
  assertOk(page);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
  assert.match(page.text, /<code>\/v1\/projects<\/code>/);
});

test('request bodies are documented as required unless the endpoint accepts none', async () => {
  const paths = (await h.get('/v1/openapi.json')).body.paths;
  assert.equal(paths['/v1/webhooks/{webhook_id}/rotate-secret'].post.requestBody.required, false);
  assert.equal(paths['/v1/projects/{project}/rules/defaults'].post.requestBody.required, false);
  assert.equal(paths['/v1/projects'].post.requestBody.required, true);
  assert.equal(paths['/v1/rules'].post.requestBody.required, true);
  assert.equal(paths['/v1/rules/{rule_id}/test'].post.requestBody.required, true);
  const rotated = await h.post('/v1/webhooks', { url: 'https://hooks.example.com/optional-body' }, { token });
  assertOk(rotated, 201);
  assertOk(await h.post(`/v1/webhooks/${rotated.body.data.id}/rotate-secret`, undefined, { token }));
  assertError(await h.request('POST', '/v1/projects', { token }), 400, 'validation_error');
});

test('healthz, readyz and metrics on the API port, without rate limiting', async () => {
  const health = await fetch(`${h.base}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(health.headers.get('x-ratelimit-limit'), null);
  const ready = await fetch(`${h.base}/readyz`);
  assert.deepEqual(await ready.json(), { status: 'ready', checks: { postgres: true, redis: true } });
  const metrics = await (await fetch(`${h.base}/metrics`)).text();
  assert.match(metrics, /vigil_api_requests_total\{method="GET",route="\/v1\/organization",status="200",code="ok",service="api"\} \d+/);
  assert.match(metrics, /vigil_api_requests_total\{[^}]*code="validation_error"/);
});

test('every operation of the document answers one of its documented successes, with a body valid against it', async () => {
  const { org, token: all } = await h.tenant();
  const o = { token: all };
  const ok = (res: ApiResponse, status = 200) => {
    assertOk(res, status);
    return res.body?.data;
  };
  const now = new Date();
  const since = new Date(now.getTime() - 3_600_000).toISOString();
  const until = new Date(now.getTime() + 60_000).toISOString();

  ok(await h.get('/v1/organization', o));
  ok(await h.get('/v1/tokens', o));
  ok(await h.get('/v1/tokens/current', o));
  const minted = ok(await h.post('/v1/tokens', { name: 'ci', scopes: ['org:read'] }, o), 201);
  ok(await h.get(`/v1/tokens/${minted.id}`, o));
  ok(await h.delete(`/v1/tokens/${minted.id}`, o));
  const own = await h.token(org.id, ['org:read']);
  ok(await h.delete('/v1/tokens/current', { token: own.token }));

  const project = ok(await h.post('/v1/projects', { name: 'Everything' }, o), 201);
  ok(await h.get('/v1/projects', o));
  ok(await h.get(`/v1/projects/${project.id}`, o));
  ok(await h.patch(`/v1/projects/${project.id}`, { name: 'Everything else' }, o));
  const key = ok(await h.post(`/v1/projects/${project.id}/keys`, { label: 'ci' }, o), 201);
  ok(await h.get(`/v1/projects/${project.id}/keys`, o));
  ok(await h.get(`/v1/projects/${project.id}/keys/${key.id}`, o));
  ok(await h.delete(`/v1/projects/${project.id}/keys/${key.id}`, o));
  const exporter = ok(await h.post(`/v1/projects/${project.id}/exporters`, { cidr: '198.51.100.0/24' }, o), 201);
  ok(await h.get(`/v1/projects/${project.id}/exporters`, o));
  ok(await h.get(`/v1/projects/${project.id}/exporters/${exporter.id}`, o));
  assertOk(await h.delete(`/v1/projects/${project.id}/exporters/${exporter.id}`, o), 204);

  const [eventId] = await seedEvents(h.pool, [{ projectId: project.id, timestamp: new Date(now.getTime() - 60_000) }]);
  ok(await h.get('/v1/events', o));
  assertOk(await h.get('/v1/events/export', o));
  ok(await h.get(`/v1/events/${eventId}`, o));
  await seedFlows(h.pool, [{ projectId: project.id, end: new Date(now.getTime() - 120_000), src: '10.0.0.1', dst: '198.51.100.7', dstPort: 443, protocol: 6 }]);
  ok(await h.get('/v1/flows', o));
  ok(await h.get('/v1/flows/top-talkers', o));
  ok(await h.get('/v1/flows/protocols', o));

  const rule = { id: 'everything', name: 'Everything', project_id: project.id, source: 'events', severity: 'low', match: { field: 'type', eq: 'x' } };
  ok(await h.post('/v1/rules', rule, o), 201);
  ok(await h.post(`/v1/projects/${project.id}/rules/defaults`, undefined, o));
  ok(await h.get('/v1/rules', o));
  ok(await h.post('/v1/rules/validate', rule, o));
  ok(await h.post('/v1/rules/test', { since, until, rule }, o));
  ok(await h.post('/v1/rules/everything/test', { since, until }, o));
  ok(await h.get('/v1/rules/everything', o));
  ok(await h.put('/v1/rules/everything', { ...rule, id: undefined, severity: 'medium' }, o));
  ok(await h.patch('/v1/rules/everything', { name: 'Everything, renamed' }, o));
  ok(await h.post('/v1/rules/everything/disable', undefined, o));
  ok(await h.post('/v1/rules/everything/enable', undefined, o));
  ok(await h.get('/v1/rules/everything/versions', o));
  ok(await h.get('/v1/rules/everything/versions/1', o));
  assertOk(await h.delete('/v1/rules/everything', o), 204);

  const [alertId] = await seedAlerts(h.pool, [{ project_id: project.id }]);
  ok(await h.get('/v1/alerts', o));
  ok(await h.get(`/v1/alerts/${alertId}`, o));
  ok(await h.post(`/v1/alerts/${alertId}/acknowledge`, undefined, o));
  ok(await h.post(`/v1/alerts/${alertId}/resolve`, undefined, o));

  const webhook = ok(await h.post('/v1/webhooks', { url: 'https://hooks.example.com/everything' }, o), 201);
  ok(await h.get('/v1/webhooks', o));
  ok(await h.get(`/v1/webhooks/${webhook.id}`, o));
  ok(await h.patch(`/v1/webhooks/${webhook.id}`, { description: 'all of it' }, o));
  ok(await h.get(`/v1/webhooks/${webhook.id}/secret`, o));
  ok(await h.post(`/v1/webhooks/${webhook.id}/rotate-secret`, undefined, o));
  const { message_id: messageId } = ok(await h.post(`/v1/webhooks/${webhook.id}/test`, undefined, o), 202);
  ok(await h.get(`/v1/webhooks/${webhook.id}/deliveries`, o));
  ok(await h.get(`/v1/webhooks/${webhook.id}/deliveries/${messageId}`, o));
  ok(await h.post(`/v1/webhooks/${webhook.id}/deliveries/${messageId}/redeliver`, undefined, o), 202);
  ok(await h.get(`/v1/webhooks/${webhook.id}/attempts`, o));
  assertOk(await h.delete(`/v1/webhooks/${webhook.id}`, o), 204);

  const doomed = (await createProject(h.pool, org.id, 'doomed')).project;
  assertOk(await h.delete(`/v1/projects/${doomed.id}`, o), 204);
  assertOk(await h.get('/v1/openapi.json'));
  assertOk(await h.get('/docs'));

  const missing = operationsOf(h.validator.document)
    .map((op) => `${op.method} ${op.template}`)
    .filter((key) => ![...(h.validator.seen.get(key) ?? [])].some((status) => status >= 200 && status < 300));
  assert.deepEqual(missing, [], 'operations never seen answering a documented success (add a request above)');

  // Formats are checked too: a response with a malformed timestamp is caught.
  const res = await h.get('/v1/organization', o);
  const broken = { ...res, body: { ...res.body, meta: { ...res.body.meta, timestamp: 'yesterday' } } };
  assert.throws(() => h.validator.check('GET', '/v1/organization', broken), /format/);
});
