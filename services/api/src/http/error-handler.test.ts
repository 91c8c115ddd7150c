import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import Fastify from 'fastify';
import { silentLogger } from '@vigil/testkit';
import { ApiHarness, assertError, assertOk } from '../testing/api-harness';
import { ERROR_CATALOG, ERROR_CODES } from './error-catalog';
import { classify, errorHandler } from './error-handler';

test('every error code of the catalog is documented in docs/api.md with its status', () => {
  const docs = readFileSync(new URL('../../../../docs/api.md', import.meta.url), 'utf8');
  for (const code of ERROR_CODES) {
    assert.match(docs, new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${ERROR_CATALOG[code].status}\\s*\\|`), `docs/api.md lists ${code} (${ERROR_CATALOG[code].status})`);
  }
});

test('what is thrown maps to a catalogued error', () => {
  const fst = (code: string, statusCode: number) => Object.assign(new Error(code), { code, statusCode });
  assert.equal(classify(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413)).code, 'payload_too_large');
  assert.equal(classify(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415)).code, 'unsupported_media_type');
  assert.equal(classify(fst('FST_ERR_CTP_EMPTY_JSON_BODY', 400)).code, 'validation_error');
  assert.equal(classify(Object.assign(new SyntaxError('Unexpected end'), { statusCode: 400 })).code, 'validation_error');
  for (const code of ['57014', '57P01', '53300', '08006', 'ECONNREFUSED']) {
    const e = classify(Object.assign(new Error('db'), { code }));
    assert.equal(e.code, 'service_unavailable', code);
    assert.equal(e.headers['retry-after'], '5');
  }
  assert.equal(classify(new Error('Connection terminated unexpectedly')).code, 'service_unavailable');
  assert.equal(classify(new TypeError('x is undefined')).code, 'internal_error');
  assert.equal(classify(Object.assign(new Error('dup'), { code: '23505' })).code, 'internal_error');
});

test('an unexpected failure answers 500 internal_error without its details', async () => {
  const app = Fastify();
  app.decorateRequest('errorCode', null);
  app.setErrorHandler(errorHandler(silentLogger()));
  app.get('/boom', async () => {
    throw new Error('secret connection string postgres://u:p@db');
  });
  const res = await app.inject({ method: 'GET', url: '/boom' });
  assert.equal(res.statusCode, 500);
  const body = res.json();
  assert.equal(body.error.code, 'internal_error');
  assert.ok(!res.body.includes('postgres://'));
  await app.close();
});

let h: ApiHarness;
before(async () => {
  h = await ApiHarness.start({ VIGIL_API_STATEMENT_TIMEOUT: '300ms' });
});
after(async () => h.stop());

test('a query over the statement timeout answers 503 service_unavailable with Retry-After', async () => {
  const { token } = await h.tenant();
  const client = await h.pool.connect();
  try {
    await client.query('begin');
    await client.query('lock table projects in access exclusive mode');
    const res = await h.get('/v1/projects', { token });
    assertError(res, 503, 'service_unavailable');
    assert.equal(res.headers.get('retry-after'), '5');
  } finally {
    await client.query('rollback');
    client.release();
  }
  assertOk(await h.get('/v1/projects', { token }));
});

test('docs/api.md lists every endpoint of the OpenAPI document', () => {
  const docs = readFileSync(new URL('../../../../docs/api.md', import.meta.url), 'utf8');
  const document = h.validator.document;
  for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, unknown>>)) {
    for (const method of Object.keys(methods)) {
      assert.match(docs, new RegExp(`\\| ${method.toUpperCase()} \\| \`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\` \\|`), `docs/api.md lists ${method.toUpperCase()} ${path}`);
    }
  }
});
