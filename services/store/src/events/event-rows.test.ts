import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EventRecord } from '@vigil/contracts';
import { toRecordset } from './event-rows';

const base: EventRecord = {
  event_id: 'a'.repeat(32),
  project_id: 1,
  timestamp_ms: 1,
  received_at_ms: 2,
  source: 'native',
  class: 'audit',
  severity: 'low',
  type: 't',
  message: null,
  exception_type: null,
  exception_value: null,
  platform: null,
  release: null,
  environment: null,
  tags: {},
  user: null,
  fingerprint: [],
  client_ip: 'not an ip',
  sdk_name: null,
  sdk_version: null,
  attributes: {},
  raw: Buffer.from([0, 1, 2, 0xff]),
};

test('rows: raw as base64, invalid addresses dropped, user flattened', () => {
  const [row] = JSON.parse(toRecordset([{ ...base, user: { id: '7', email: null, username: 'u', ip_address: '::1' } }])) as Array<Record<string, unknown>>;
  assert.equal(row?.raw, Buffer.from([0, 1, 2, 0xff]).toString('base64'));
  assert.equal(row?.client_ip, null);
  assert.deepEqual([row?.user_id, row?.user_email, row?.user_username, row?.user_ip_address], ['7', null, 'u', '::1']);
});

test('U+0000 and lone surrogates become U+FFFD anywhere, valid pairs stay', () => {
  const json = toRecordset([
    { ...base, message: 'a\u0000\ud800b😀', tags: { 'k\udc00': 'v' }, attributes: { x: ['\u0000', { y: 'z\ud83d' }] }, fingerprint: ['\u0000'] },
  ]);
  assert.doesNotMatch(json, /\\u0000|\\ud[89a-f]/i);
  const [row] = JSON.parse(json) as Array<Record<string, unknown>>;
  assert.equal(row?.message, 'a\uFFFD\uFFFDb😀');
  assert.deepEqual(row?.tags, { 'k\uFFFD': 'v' });
  assert.deepEqual(row?.attributes, { x: ['\uFFFD', { y: 'z\uFFFD' }] });
  assert.deepEqual(row?.fingerprint, ['\uFFFD']);
});
