import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createAddressPolicy, type RefusalReason } from './address-policy';

const policy = createAddressPolicy();
const reasonOf = (address: string, p = policy) => {
  const verdict = p.check(address);
  return verdict.allowed ? 'allowed' : verdict.reason;
};

test('IPv4 special-purpose ranges are refused with their reason', () => {
  const cases: [string, RefusalReason][] = [
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.254', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['127.53.0.9', 'loopback'],
    ['169.254.1.1', 'link_local'],
    ['100.64.0.1', 'carrier_grade_nat'],
    ['100.127.255.254', 'carrier_grade_nat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['192.0.0.8', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['192.0.2.10', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.99', 'documentation'],
  ];
  for (const [address, reason] of cases) assert.equal(reasonOf(address), reason, address);
});

test('cloud metadata addresses are named as such', () => {
  for (const address of ['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192', 'fd00:ec2::254', 'FD00:EC2:0::254']) {
    assert.equal(reasonOf(address), 'cloud_metadata', address);
  }
});

test('IPv6 loopback, unspecified, ULA, link-local, multicast and non-global space are refused', () => {
  const cases: [string, RefusalReason][] = [
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'unique_local'],
    ['fdff:ffff::1', 'unique_local'],
    ['fe80::1', 'link_local'],
    ['febf::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['fec0::1', 'site_local'],
    ['ff02::1', 'multicast'],
    ['::ffff:0:0:1', 'ipv4_translated'],
    ['::8.8.8.8', 'ipv4_compatible'],
    ['100::1', 'reserved'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001:2::1', 'benchmarking'],
    ['2001:20::1', 'reserved'],
    ['64:ff9b:1::a00:1', 'nat64'],
    ['5f00::1', 'not_global_unicast'],
    ['4000::1', 'not_global_unicast'],
  ];
  for (const [address, reason] of cases) assert.equal(reasonOf(address), reason, address);
});

test('IPv4-mapped addresses are refused; 6to4 and NAT64 are judged by the IPv4 address they embed', () => {
  assert.deepEqual(policy.check('::ffff:127.0.0.1'), { allowed: false, address: '::ffff:7f00:1', reason: 'ipv4_mapped', embeddedIPv4: '127.0.0.1' });
  assert.equal(reasonOf('::ffff:8.8.8.8'), 'ipv4_mapped');
  assert.equal(reasonOf('::ffff:169.254.169.254'), 'cloud_metadata');
  assert.deepEqual(policy.check('2002:a9fe:a9fe::1'), { allowed: false, address: '2002:a9fe:a9fe::1', reason: 'cloud_metadata' });
  assert.deepEqual(policy.check('2002:c0a8:0101::'), { allowed: false, address: '2002:c0a8:101::', reason: '6to4', embeddedIPv4: '192.168.1.1' });
  assert.equal(reasonOf('2002:7f00:1::'), '6to4');
  assert.equal(reasonOf('2002:808:808::1'), 'allowed');
  assert.deepEqual(policy.check('64:ff9b::10.0.0.1'), { allowed: false, address: '64:ff9b::a00:1', reason: 'nat64', embeddedIPv4: '10.0.0.1' });
  assert.equal(reasonOf('64:ff9b::127.0.0.1'), 'nat64');
  assert.equal(reasonOf('64:ff9b::8.8.8.8'), 'allowed');
  // Teredo obfuscates the client's IPv4 address, so it cannot be judged: refused.
  assert.equal(reasonOf('2001:0:4136:e378:8000:63bf:3fff:fdd2'), 'teredo');
});

test('public unicast addresses pass', () => {
  for (const address of ['8.8.8.8', '1.1.1.1', '93.184.215.14', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0', '192.169.0.1', '198.17.255.255', '198.20.0.0', '223.255.255.255', '2606:4700:4700::1111', '2a00:1450:4001:82a::200e', '2001:4860:4860::8888']) {
    assert.deepEqual(policy.check(address).allowed, true, address);
  }
});

test('anything that is not an IP address is refused as invalid', () => {
  for (const address of ['', 'localhost', '1.2.3', '256.1.1.1', '0x7f.1', '010.0.0.1', '::ffff:010.0.0.1', '::ffff:0x7f.0.0.1', '::g', 'example.com']) {
    assert.equal(reasonOf(address), 'invalid_address', address);
  }
});

const octet = fc.integer({ min: 0, max: 255 });
const inRange = (first: number, secondMin = 0, secondMax = 255) =>
  fc.tuple(fc.integer({ min: secondMin, max: secondMax }), octet, octet).map(([b, c, d]) => `${first}.${b}.${c}.${d}`);

test('every address of the private, loopback, link-local and CGNAT ranges is refused, in every IPv6 wrapping', () => {
  const refused = fc.oneof(inRange(10), inRange(172, 16, 31), inRange(192, 168, 168), inRange(127), inRange(169, 254, 254), inRange(100, 64, 127));
  fc.assert(
    fc.property(refused, (address) => {
      assert.equal(policy.check(address).allowed, false, address);
      const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
      const hex = (x: number, y: number) => ((x << 8) | y).toString(16);
      for (const wrapped of [`::ffff:${address}`, `64:ff9b::${address}`, `2002:${hex(a, b)}:${hex(c, d)}::1`]) {
        assert.equal(policy.check(wrapped).allowed, false, wrapped);
      }
    }),
    { numRuns: 500 },
  );
});

test('the allow-list overrides a refusal for the addresses it covers, and only those', () => {
  const local = createAddressPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128', '10.1.0.0/16'] });
  assert.deepEqual(local.allowCidrs, ['127.0.0.0/8', '::1/128', '10.1.0.0/16']);
  assert.deepEqual(local.check('127.0.0.1'), { allowed: true, address: '127.0.0.1', via: 'allow_list' });
  assert.equal(reasonOf('::1', local), 'allowed');
  assert.equal(reasonOf('::ffff:127.0.0.1', local), 'allowed'); // reaches 127.0.0.1 all the same
  assert.equal(reasonOf('10.1.2.3', local), 'allowed');
  assert.equal(reasonOf('10.2.0.1', local), 'private');
  assert.equal(reasonOf('192.168.0.1', local), 'private');
  assert.equal(reasonOf('8.8.8.8', local), 'allowed');
  assert.deepEqual(local.check('8.8.8.8'), { allowed: true, address: '8.8.8.8', via: 'public' });
});

test('a cloud metadata address is opened only by an allow-list entry naming exactly that address', () => {
  const broad = createAddressPolicy({ allowCidrs: ['169.254.0.0/16', '0.0.0.0/0', 'fd00::/8'] });
  assert.equal(reasonOf('169.254.1.1', broad), 'allowed');
  assert.equal(reasonOf('169.254.169.254', broad), 'cloud_metadata');
  assert.equal(reasonOf('fd00:ec2::254', broad), 'cloud_metadata');
  const exact = createAddressPolicy({ allowCidrs: ['169.254.169.254', 'fd00:ec2::254/128'] });
  assert.equal(reasonOf('169.254.169.254', exact), 'allowed');
  assert.equal(reasonOf('fd00:ec2::254', exact), 'allowed');
});

test('every cloud metadata address stays refused under any allow-list entry broader than /32 or /128', () => {
  const metadata = [
    ['169.254.169.254', ['0.0.0.0/0', '169.254.0.0/16', '169.254.169.0/24', '169.254.169.254/31', '::ffff:0:0/96']],
    ['169.254.170.2', ['169.254.0.0/16', '169.254.170.0/24', '169.254.170.2/31']],
    ['169.254.170.23', ['169.254.0.0/16', '169.254.170.22/31']],
    ['169.254.169.253', ['169.254.0.0/16', '169.254.169.252/30']],
    ['169.254.169.123', ['169.254.0.0/16', '169.254.169.0/24']],
    ['100.100.100.200', ['0.0.0.0/0', '100.64.0.0/10', '100.100.100.0/24']],
    ['192.0.0.192', ['0.0.0.0/0', '192.0.0.0/24', '192.0.0.192/31']],
    ['fd00:ec2::254', ['::/0', 'fc00::/7', 'fd00::/8', 'fd00:ec2::/32', 'fd00:ec2::254/127']],
    ['fd00:ec2::23', ['::/0', 'fc00::/7', 'fd00:ec2::/64']],
    ['fd00:ec2::253', ['fd00::/8', 'fd00:ec2::252/126']],
    ['fd00:ec2::123', ['fd00::/8', 'fd00:ec2::/120']],
  ] as const;
  const exact = (address: string) => `${address}/${address.includes(':') ? 128 : 32}`;
  for (const [address, broadEntries] of metadata) {
    for (const entry of broadEntries) {
      assert.equal(reasonOf(address, createAddressPolicy({ allowCidrs: [entry] })), 'cloud_metadata', `${address} under ${entry}`);
    }
    const all = createAddressPolicy({ allowCidrs: [...broadEntries] });
    assert.equal(reasonOf(address, all), 'cloud_metadata', `${address} under all of ${broadEntries.join(',')}`);
    assert.equal(reasonOf(address, createAddressPolicy({ allowCidrs: [exact(address)] })), 'allowed', `${address} under ${exact(address)}`);
    assert.equal(reasonOf(address, createAddressPolicy({ allowCidrs: [address] })), 'allowed', `${address} as a bare address`);
  }
  // An exact entry opens that address only, not the other metadata addresses beside it.
  const one = createAddressPolicy({ allowCidrs: ['169.254.169.254/32', 'fd00:ec2::254/128', '169.254.0.0/16', 'fd00::/8'] });
  assert.equal(reasonOf('169.254.169.254', one), 'allowed');
  assert.equal(reasonOf('fd00:ec2::254', one), 'allowed');
  for (const other of ['169.254.170.2', '169.254.169.253', 'fd00:ec2::23', 'fd00:ec2::253']) assert.equal(reasonOf(other, one), 'cloud_metadata', other);
  assert.equal(reasonOf('169.254.1.1', one), 'allowed', 'the broad entry still opens the rest of its range');
});

test('invalid allow-list entries are refused when the policy is built', () => {
  for (const bad of ['10.0.0.0/33', 'localhost', '10.0.0/8', '::1/129', '']) {
    assert.throws(() => createAddressPolicy({ allowCidrs: [bad] }), RangeError, bad);
  }
});
