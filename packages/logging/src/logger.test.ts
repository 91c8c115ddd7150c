import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, newRequestId } from './index';

test('logs JSON lines with service, level label and child bindings', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ service: 'ingest', destination: sink as never });
  const id = newRequestId();
  log.child({ request_id: id }).info({ status: 200 }, 'done');
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!);
  assert.equal(rec.service, 'ingest');
  assert.equal(rec.level, 'info');
  assert.equal(rec.request_id, id);
  assert.equal(rec.status, 200);
  assert.equal(rec.msg, 'done');
  assert.match(rec.time, /^\d{4}-\d\d-\d\dT/);
});

test('request ids are prefixed, base62 and distinct', () => {
  const ids = new Set(Array.from({ length: 1000 }, newRequestId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^req_[0-9A-Za-z]{20}$/);
});
