import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SequenceTracker } from './sequence-tracker';

describe('SequenceTracker', () => {
  it('counts gaps in RFC 7011 numbering (records before the message)', () => {
    const t = new SequenceTracker();
    assert.equal(t.observe(0, 30, 30), 0);
    assert.equal(t.observe(30, 30, 30), 0);
    assert.equal(t.observe(70, 5, 5), 10);
    assert.equal(t.observe(75, 1, 1), 0);
    assert.equal(t.lostTotal, 10);
  });

  it('accepts the inclusive numbering softflowd uses, and counts its real gaps', () => {
    const t = new SequenceTracker();
    // softflowd: sequence = records sent including this message, options records not counted.
    assert.equal(t.observe(24, 25, 24), 0);
    assert.equal(t.observe(56, 32, 32), 0);
    assert.equal(t.observe(88, 32, 32), 0);
    // 7 records lost, then a message of 21.
    assert.equal(t.observe(116, 21, 21), 7);
  });

  it('wraps modulo 2^32', () => {
    const t = new SequenceTracker();
    t.observe(2 ** 32 - 10, 10, 10);
    assert.equal(t.observe(0, 5, 5), 0);
    assert.equal(t.observe(8, 1, 1), 3);
  });

  it('treats a backwards jump as a restart, not as a loss', () => {
    const t = new SequenceTracker();
    t.observe(1000, 10, 10);
    assert.equal(t.observe(3, 10, 10), -1);
    assert.equal(t.observe(13, 10, 10), 0);
    assert.deepEqual([t.lostTotal, t.resets], [0, 1]);
  });

  it('skips the check after a message whose records could not all be counted', () => {
    const t = new SequenceTracker();
    t.observe(0, -1, -1);
    assert.equal(t.observe(500, 3, 3), 0);
    assert.equal(t.observe(503, 1, 1), 0);
  });

  it('counts packets for NetFlow v9', () => {
    const t = new SequenceTracker();
    t.observe(7, 1, 1);
    assert.equal(t.observe(8, 1, 1), 0);
    assert.equal(t.observe(12, 1, 1), 3);
  });
});
