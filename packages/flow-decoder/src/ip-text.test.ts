import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ipv4Text, ipv6IsZero, ipv6Text } from './ip-text';

const v6 = (hex: string): Uint8Array => Buffer.from(hex.toLowerCase().replace(/[^0-9a-f]/g, ''), 'hex');

describe('ipv4Text', () => {
  it('formats dotted quads', () => {
    assert.equal(ipv4Text(0), '0.0.0.0');
    assert.equal(ipv4Text(0xffffffff), '255.255.255.255');
    assert.equal(ipv4Text(0xc0000201), '192.0.2.1');
  });
});

describe('ipv6Text (RFC 5952)', () => {
  it('compresses the longest run of zero groups, the first on a tie, never a single group', () => {
    assert.equal(ipv6Text(v6('2001 0db8 0000 0000 0001 0000 0000 0001'), 0), '2001:db8::1:0:0:1');
    assert.equal(ipv6Text(v6('2001 0db8 0000 0001 0001 0001 0001 0001'), 0), '2001:db8:0:1:1:1:1:1');
    assert.equal(ipv6Text(v6('2001 0db8 0000 0000 0000 0001 0000 0000'), 0), '2001:db8::1:0:0');
    assert.equal(ipv6Text(v6('0000 0000 0000 0000 0000 0000 0000 0000'), 0), '::');
    assert.equal(ipv6Text(v6('0000 0000 0000 0000 0000 0000 0000 0001'), 0), '::1');
    assert.equal(ipv6Text(v6('fe80 0000 0000 0000 0000 0000 0000 0000'), 0), 'fe80::');
    assert.equal(ipv6Text(v6('2001 0DB8 00AB 0000 0000 0000 0000 00CD'), 0), '2001:db8:ab::cd');
  });

  it('writes IPv4-mapped addresses in mixed notation', () => {
    assert.equal(ipv6Text(v6('0000 0000 0000 0000 0000 ffff c000 0201'), 0), '::ffff:192.0.2.1');
  });

  it('reads at an offset', () => {
    const buf = Buffer.concat([Buffer.alloc(3, 9), v6('2001 0db8 0000 0000 0000 0000 0000 0001')]);
    assert.equal(ipv6Text(buf, 3), '2001:db8::1');
    assert.equal(ipv6IsZero(buf, 3), false);
    assert.equal(ipv6IsZero(new Uint8Array(16), 0), true);
  });

  it('agrees with the WHATWG URL serializer (which follows RFC 5952) for any address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (bytes, sparse) => {
        if (sparse) for (let i = 0; i < 16; i++) if (bytes[i]! % 3 !== 0) bytes[i] = 0;
        const mapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
        fc.pre(!mapped);
        const groups = Array.from({ length: 8 }, (_, g) => ((bytes[2 * g]! << 8) | bytes[2 * g + 1]!).toString(16)).join(':');
        const expected = new URL(`http://[${groups}]/`).hostname.slice(1, -1);
        assert.equal(ipv6Text(bytes, 0), expected);
      }),
      { numRuns: 2000 },
    );
  });
});
