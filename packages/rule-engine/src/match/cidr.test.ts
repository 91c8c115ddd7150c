import assert from 'node:assert/strict';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileCidrs, parseIPv4, parseIPv6, parseNetwork } from './cidr';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const groups = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });

/** Writes 8 groups, compressing the run of zero groups starting at `at` (if any) with `::`. */
function v6Text(g: number[], at: number, len: number): string {
  const hex = g.map((x) => x.toString(16));
  const canZero = len > 0 && g.slice(at, at + len).every((x) => x === 0);
  if (!canZero) return hex.join(':');
  return `${hex.slice(0, at).join(':')}::${hex.slice(at + len).join(':')}`;
}

const v6 = fc.tuple(groups, fc.nat(7), fc.nat(8)).map(([g, at, len]) => {
  const zeroed = g.map((x, i) => (i >= at && i < at + len ? 0 : x));
  return v6Text(zeroed, at, Math.min(len, 8 - at));
});

describe('IP parsing', () => {
  it('agrees with node:net on random IPv4 and near-IPv4 text', () => {
    fc.assert(fc.property(fc.stringMatching(/^[0-9.]{1,16}$/), (s) => {
      assert.equal(parseIPv4(s) >= 0, isIPv4(s), s);
    }), { numRuns: 2_000 });
    fc.assert(fc.property(v4, (s) => assert.ok(parseIPv4(s) >= 0, s)));
  });

  it('agrees with node:net on random IPv6 text, compressed or not', () => {
    fc.assert(fc.property(v6, (s) => assert.equal(parseIPv6(s) !== null, isIPv6(s), s)), { numRuns: 1_000 });
    fc.assert(fc.property(fc.stringMatching(/^[0-9a-f:.]{2,20}$/), (s) => {
      assert.equal(parseIPv6(s) !== null, isIPv6(s), s);
    }), { numRuns: 3_000 });
  });

  it('reads embedded IPv4, zones and the unspecified address', () => {
    assert.equal(parseIPv6('::'), 0n);
    assert.equal(parseIPv6('::ffff:192.0.2.1'), (0xffffn << 32n) | 0xc0000201n);
    assert.equal(parseIPv6('fe80::1%eth0'), (0xfe80n << 112n) | 1n);
    assert.equal(parseIPv6('1.2.3.4::'), null);
    assert.equal(parseIPv6('1::2::3'), null);
    assert.equal(parseIPv4('010.0.0.1'), -1);
    assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  });
});

describe('CIDR matching', () => {
  it('agrees with node:net BlockList for random IPv4 networks and addresses', () => {
    const nets = fc.array(fc.tuple(v4, fc.nat(32)), { minLength: 1, maxLength: 8 });
    fc.assert(fc.property(nets, fc.array(v4, { maxLength: 20 }), (ns, addrs) => {
      const oracle = new BlockList();
      for (const [a, p] of ns) oracle.addSubnet(a, p, 'ipv4');
      const inside = compileCidrs(ns.map(([a, p]) => `${a}/${p}`));
      for (const a of [...addrs, ...ns.map(([n]) => n)]) assert.equal(inside(a), oracle.check(a, 'ipv4'), a);
    }), { numRuns: 500 });
  });

  it('agrees with node:net BlockList for random IPv6 networks and addresses', () => {
    const nets = fc.array(fc.tuple(v6, fc.nat(128)), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(nets, fc.array(v6, { maxLength: 10 }), (ns, addrs) => {
      const oracle = new BlockList();
      for (const [a, p] of ns) oracle.addSubnet(a, p, 'ipv6');
      const inside = compileCidrs(ns.map(([a, p]) => `${a}/${p}`));
      for (const a of [...addrs, ...ns.map(([n]) => n)]) assert.equal(inside(a), oracle.check(a, 'ipv6'), a);
    }), { numRuns: 300 });
  });

  it('matches IPv4-mapped IPv6 addresses against IPv4 networks and back', () => {
    const v4nets = compileCidrs(['192.0.2.0/24']);
    assert.equal(v4nets('::ffff:192.0.2.77'), true);
    assert.equal(v4nets('::ffff:192.0.3.77'), false);
    const mapped = compileCidrs(['::ffff:0:0/96']);
    assert.equal(mapped('8.8.8.8'), true);
    assert.equal(mapped('2001:db8::1'), false);
  });

  it('merges overlapping and adjacent networks and ignores host bits', () => {
    const inside = compileCidrs(['10.0.0.0/25', '10.0.0.128/25', '10.0.0.77/8', '10.0.0.0/16']);
    assert.equal(inside('10.255.1.1'), true);
    assert.equal(inside('11.0.0.0'), false);
    assert.equal(inside('9.255.255.255'), false);
    assert.deepEqual(parseNetwork('10.0.0.77/8'), { v: 4, start: 0x0a000000, end: 0x0affffff });
  });

  it('treats non-addresses as outside every network', () => {
    const inside = compileCidrs(['0.0.0.0/0', '::/0']);
    for (const s of ['', 'localhost', '1.2.3', '1.2.3.4.5', 'zz::1', '::g']) assert.equal(inside(s), false, s);
    assert.equal(inside('1.2.3.4'), true);
    assert.equal(inside('::1'), true);
  });

  it('rejects malformed networks', () => {
    for (const s of ['10.0.0.0/33', '10.0.0.0/-1', '10.0.0/8', '2001:db8::/129', '10.0.0.0/8/8', 'x/8']) assert.equal(parseNetwork(s), null, s);
  });
});
