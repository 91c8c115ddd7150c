import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createFlowDecoder, encodeNetflowBody, parseNetflowBody } from './index';

describe('application/x-netflow body', () => {
  it('round-trips datagrams and returns views into the body', () => {
    const a = Buffer.from([0, 5, 1, 2, 3]);
    const b = Buffer.alloc(300, 7);
    const body = encodeNetflowBody([a, b]);
    const out = parseNetflowBody(body);
    assert.deepEqual(out, { datagrams: [a, b], error: null, offset: body.length });
    assert.equal(out.datagrams[1]!.buffer, body.buffer);
  });

  it('stops at a zero length, a truncated prefix or datagram, and past the datagram limit', () => {
    assert.deepEqual(parseNetflowBody(Buffer.from([0, 1, 9, 0, 0])).error, 'zero_length');
    assert.deepEqual(parseNetflowBody(Buffer.from([0, 1, 9, 0])).error, 'truncated');
    const t = parseNetflowBody(Buffer.from([0, 1, 9, 0, 4, 1, 2]));
    assert.deepEqual([t.error, t.offset, t.datagrams.length], ['truncated', 3, 1]);
    assert.equal(parseNetflowBody(Buffer.from([0, 1, 9, 0, 1, 9]), { maxDatagrams: 1 }).error, 'too_many_datagrams');
    assert.deepEqual(parseNetflowBody(new Uint8Array(0)), { datagrams: [], error: null, offset: 0 });
  });

  it('carries a captured softflowd NetFlow v9 export that decodes in report-missing mode', () => {
    const body = readFileSync(new URL('../fixtures/softflowd-v9.netflow', import.meta.url));
    const decoder = createFlowDecoder();
    let flows = 0;
    for (const d of parseNetflowBody(body).datagrams) {
      const r = decoder.decode(d, 'dsn-key-1', 1_709_294_500_000, 'report-missing');
      assert.deepEqual(r.missingTemplates, []);
      flows += r.flows.length;
    }
    assert.equal(flows, 109);
  });
});
