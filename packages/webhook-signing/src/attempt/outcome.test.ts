import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyError, classifyResponse, parseRetryAfter } from './outcome';
import { DestinationRefusedError } from '../egress/destination';

const NOW = Date.parse('2025-03-01T00:00:00Z');

test('2xx is delivered; only 2xx', () => {
  for (const status of [200, 201, 202, 204, 299]) {
    assert.deepEqual(classifyResponse({ status }), { action: 'delivered', errorClass: null });
  }
});

test('3xx is a failure and retried, never followed', () => {
  for (const status of [301, 302, 303, 307, 308, 304]) {
    assert.deepEqual(classifyResponse({ status, headers: { location: 'http://169.254.169.254/' } }), {
      action: 'retry',
      errorClass: 'http_redirect',
    });
  }
});

test('410 disables the endpoint', () => {
  assert.deepEqual(classifyResponse({ status: 410 }), { action: 'disable_endpoint', errorClass: 'http_gone' });
});

test('429/502/503/504 retry and honour Retry-After in seconds or as an HTTP date', () => {
  assert.deepEqual(classifyResponse({ status: 429, headers: { 'retry-after': '2' } }), {
    action: 'retry',
    errorClass: 'http_rate_limited',
    retryAfterMs: 2000,
  });
  for (const status of [502, 503, 504]) {
    assert.deepEqual(
      classifyResponse({ status, headers: { 'retry-after': 'Sat, 01 Mar 2025 00:02:00 GMT' }, now: NOW }),
      { action: 'retry', errorClass: 'http_unavailable', retryAfterMs: 120_000 },
    );
  }
  // Without a usable Retry-After, the schedule alone applies.
  assert.deepEqual(classifyResponse({ status: 429 }), { action: 'retry', errorClass: 'http_rate_limited' });
  assert.deepEqual(classifyResponse({ status: 503, headers: { 'retry-after': 'soon' } }), {
    action: 'retry',
    errorClass: 'http_unavailable',
  });
});

test('Retry-After is bounded (defaults 1 s – 1 h, configurable)', () => {
  assert.equal(parseRetryAfter('0', NOW), 1000);
  assert.equal(parseRetryAfter('86400', NOW), 3_600_000);
  assert.equal(parseRetryAfter('Fri, 28 Feb 2025 00:00:00 GMT', NOW), 1000); // in the past
  assert.equal(parseRetryAfter('30', NOW, { min: '1m' }), 60_000);
  assert.equal(parseRetryAfter('7200', NOW, { max: '6h' }), 7_200_000);
  assert.equal(parseRetryAfter('Sunday, 02-Mar-25 00:00:00 GMT', NOW, { max: '2d' }), 86_400_000);
  assert.equal(parseRetryAfter('Sat Mar  1 00:00:10 2025', NOW), 10_000); // asctime, read as GMT
  for (const junk of ['', '-5', '1.5', 'tomorrow', '2025-03-02', '12abc', 'Sat, 01 Mar 2025 00:02:00']) assert.equal(parseRetryAfter(junk, NOW), null, junk);
  // Retry-After on other statuses is ignored.
  assert.deepEqual(classifyResponse({ status: 500, headers: { 'retry-after': '60' } }), { action: 'retry', errorClass: 'http_server_error' });
});

test('other 4xx and 5xx retry with their class; out-of-range statuses too', () => {
  assert.deepEqual(classifyResponse({ status: 400 }), { action: 'retry', errorClass: 'http_client_error' });
  assert.deepEqual(classifyResponse({ status: 404 }), { action: 'retry', errorClass: 'http_client_error' });
  assert.deepEqual(classifyResponse({ status: 500 }), { action: 'retry', errorClass: 'http_server_error' });
  assert.deepEqual(classifyResponse({ status: 599 }), { action: 'retry', errorClass: 'http_server_error' });
  for (const status of [100, 199, 600, 0]) {
    assert.deepEqual(classifyResponse({ status }), { action: 'retry', errorClass: 'http_unexpected_status' });
  }
});

test('network errors are retried with a class; policy refusals fail without retry', () => {
  const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
  const cases: [unknown, string, string][] = [
    [coded('ENOTFOUND'), 'retry', 'dns_failure'],
    [coded('EAI_AGAIN'), 'retry', 'dns_failure'],
    [coded('ECONNREFUSED'), 'retry', 'connection_refused'],
    [coded('ECONNRESET'), 'retry', 'connection_reset'],
    [new Error('socket hang up'), 'retry', 'connection_reset'],
    [coded('ETIMEDOUT'), 'retry', 'connect_timeout'],
    [coded('DEPTH_ZERO_SELF_SIGNED_CERT'), 'retry', 'tls_error'],
    [coded('ERR_TLS_CERT_ALTNAME_INVALID'), 'retry', 'tls_error'],
    [coded('ERR_SSL_WRONG_VERSION_NUMBER'), 'retry', 'tls_error'],
    [coded('EPROTO'), 'retry', 'tls_error'],
    [coded('HPE_INVALID_CONSTANT'), 'retry', 'invalid_response'],
    [coded('EHOSTUNREACH'), 'retry', 'network_error'],
    [new Error('???'), 'retry', 'network_error'],
    ['not even an error', 'retry', 'network_error'],
    [Object.assign(new Error('t'), { errorClass: 'total_timeout' }), 'retry', 'total_timeout'],
    [new DestinationRefusedError('ssrf_refused', 'no'), 'fail', 'ssrf_refused'],
    [new DestinationRefusedError('unsupported_scheme', 'no'), 'fail', 'unsupported_scheme'],
    [coded('ERR_INVALID_HTTP_TOKEN'), 'fail', 'invalid_request'],
    [Object.assign(new Error('x'), { errorClass: 'made_up' }), 'retry', 'network_error'],
  ];
  for (const [error, action, errorClass] of cases) {
    assert.deepEqual(classifyError(error), { action, errorClass }, String(error));
  }
});
