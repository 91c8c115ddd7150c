import assert from 'node:assert/strict';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { conditionArb, recordArb, referenceMatch } from '../testing/arbitraries';
import { compileRule } from './compile';
import type { Condition } from '../rule/condition';
import { event, flow } from '../testing/fixtures';
import type { InputRecord, Source } from '../records';

function matcher(match: Condition, source: Source = 'events'): (r: InputRecord) => boolean {
  return compileRule({
    id: 't', name: 't', description: '', project_id: null, source, severity: 'low', tags: [], enabled: true, version: 1,
    match, aggregate: null, suppress: { duration: '1h', group_by: [] },
  }).matches;
}

function check(match: Condition, yes: InputRecord[], no: InputRecord[], source: Source = 'events'): void {
  const m = matcher(match, source);
  yes.forEach((r, i) => assert.equal(m(r), true, `${JSON.stringify(match)} should match record ${i}`));
  no.forEach((r, i) => assert.equal(m(r), false, `${JSON.stringify(match)} should not match record ${i}`));
}

describe('operators', () => {
  it('eq ignores case by default and honours case_sensitive', () => {
    check({ field: 'type', eq: 'auth.login_failed' }, [event({ type: 'Auth.Login_FAILED' }), event({ type: 'auth.login_failed' })], [event({ type: 'auth.login_failed2' })]);
    check({ field: 'type', eq: 'auth.login_failed', case_sensitive: true }, [event({ type: 'auth.login_failed' })], [event({ type: 'Auth.login_failed' })]);
    check({ field: 'message', eq: 'ÄRGER' }, [event({ message: 'ärger' })], [event({ message: 'arger' })]);
    check({ field: 'message', eq: 'i̇stanbul' }, [event({ message: 'İstanbul' })], [event({ message: 'Istanbul' })]);
  });

  it('eq compares numbers by value and text by spelling; null means missing', () => {
    check({ field: 'dst_port', eq: '22' }, [flow({ dst_port: 22 })], [flow({ dst_port: 2222 })], 'flows');
    check({ field: 'dst_port', eq: 22 }, [flow({ dst_port: 22 })], [flow({ dst_port: 23 })], 'flows');
    check({ field: 'attributes.code', eq: 404 }, [event({ attributes: { code: 404 } }), event({ attributes: { code: '404' } })], [event({ attributes: { code: '0404' } }), event({ attributes: {} })]);
    check({ field: 'attributes.ok', eq: true }, [event({ attributes: { ok: true } }), event({ attributes: { ok: 'TRUE' } })], [event({ attributes: { ok: false } }), event({ attributes: { ok: 1 } })]);
    check({ field: 'environment', eq: null }, [event({ environment: null }), event({ attributes: {}, environment: undefined as unknown as null })], [event({ environment: '' })]);
    check({ field: 'protocol', eq: 'TCP' }, [flow({ protocol: 6 })], [flow({ protocol: 17 })], 'flows');
  });

  it('neq is exactly not-eq, so a missing value is not equal', () => {
    check({ field: 'environment', neq: 'production' }, [event({ environment: 'staging' }), event({ environment: null })], [event({ environment: 'PRODUCTION' })]);
    check({ field: 'fingerprint', neq: 'a' }, [event({ fingerprint: ['b', 'c'] }), event({ fingerprint: [] })], [event({ fingerprint: ['b', 'A'] })]);
  });

  it('in matches any listed literal, including protocol names and null', () => {
    check({ field: 'protocol', in: ['tcp', 'udp'] }, [flow({ protocol: 6 }), flow({ protocol: 17 })], [flow({ protocol: 1 })], 'flows');
    check({ field: 'type', in: ['a', 'B', null] }, [event({ type: 'b' }), event({ attributes: {}, type: undefined as unknown as string })], [event({ type: 'c' })]);
    check({ field: 'dst_port', in: [22, '3389'] }, [flow({ dst_port: 3389 }), flow({ dst_port: 22 })], [flow({ dst_port: 80 })], 'flows');
  });

  it('contains, startswith and endswith work on text, lists of needles and arrays of values', () => {
    check({ field: 'message', contains: 'PASSWORD' }, [event({ message: 'bad password for root' })], [event({ message: 'bad pass' }), event({ message: null })]);
    check({ field: 'message', contains: ['sudo', 'su -'] }, [event({ message: 'ran SU - root' })], [event({ message: 'sudden' })]);
    check({ field: 'message', contains: 'Root', case_sensitive: true }, [event({ message: 'Root login' })], [event({ message: 'root login' })]);
    check({ field: 'type', startswith: 'auth.' }, [event({ type: 'AUTH.x' })], [event({ type: 'xauth.' })]);
    check({ field: 'type', endswith: ['_failed', '_denied'] }, [event({ type: 'auth.access_denied' })], [event({ type: 'auth.failed.x' })]);
    check({ field: 'fingerprint', startswith: 'db' }, [event({ fingerprint: ['web', 'DB-1'] })], [event({ fingerprint: ['web'] })]);
    check({ field: 'attributes.status', startswith: '5' }, [event({ attributes: { status: 503 } })], [event({ attributes: { status: 404 } })]);
  });

  it('regex is compiled once, ignores case by default and keeps no state between records', () => {
    const m = matcher({ field: 'message', regex: 'user (root|admin)\\b' });
    const hit = event({ message: 'login for USER admin failed' });
    for (let i = 0; i < 3; i++) assert.equal(m(hit), true);
    assert.equal(m(event({ message: 'user administrator' })), false);
    check({ field: 'message', regex: '^Root$', case_sensitive: true }, [event({ message: 'Root' })], [event({ message: 'root' })]);
    check({ field: 'attributes.code', regex: '^4\\d\\d$' }, [event({ attributes: { code: 418 } })], [event({ attributes: { code: 5180 } })]);
  });

  it('cidr matches IPv4 and IPv6 addresses, including mapped ones', () => {
    check({ field: 'client_ip', cidr: ['10.0.0.0/8', '2001:db8::/32'] },
      [event({ client_ip: '10.9.8.7' }), event({ client_ip: '2001:db8:1::1' }), event({ client_ip: '::ffff:10.1.1.1' })],
      [event({ client_ip: '11.0.0.1' }), event({ client_ip: '2001:db9::1' }), event({ client_ip: null }), event({ client_ip: 'garbage' })]);
    check({ field: 'dst_addr', cidr: '203.0.113.0/24' }, [flow({ dst_addr: '203.0.113.200' })], [flow({ dst_addr: '203.0.114.1' })], 'flows');
    check({ field: 'user.ip_address', cidr: '192.168.0.0/16' }, [event({ user: { id: null, email: null, username: null, ip_address: '192.168.3.4' } })], [event({ user: null })]);
  });

  it('lt, lte, gt and gte compare numbers and numeric text at their boundaries', () => {
    check({ field: 'bytes', gte: 1000 }, [flow({ bytes: 1000 }), flow({ bytes: 5000 })], [flow({ bytes: 999 })], 'flows');
    check({ field: 'bytes', gt: 1000 }, [flow({ bytes: 1001 })], [flow({ bytes: 1000 })], 'flows');
    check({ field: 'dst_port', lt: 1024 }, [flow({ dst_port: 1023 })], [flow({ dst_port: 1024 })], 'flows');
    check({ field: 'dst_port', lte: 1024 }, [flow({ dst_port: 1024 })], [flow({ dst_port: 1025 })], 'flows');
    check({ field: 'attributes.latency', gt: 2.5 }, [event({ attributes: { latency: '3' } }), event({ attributes: { latency: [1, 9] } })], [event({ attributes: { latency: 'slow' } }), event({ attributes: { latency: '' } }), event({ attributes: {} })]);
  });

  it('exists distinguishes missing and null from any present value', () => {
    check({ field: 'tags.env', exists: true }, [event({ tags: { env: '' } })], [event({ tags: {} })]);
    check({ field: 'user.email', exists: false }, [event({ user: null }), event({ user: { id: '1', email: null, username: null, ip_address: null } })], [event({ user: { id: '1', email: 'a@b.c', username: null, ip_address: null } })]);
    check({ field: 'tags.constructor', exists: false }, [event({ tags: {} })], [event({ tags: { constructor: 'x' } })]);
    check({ field: 'attributes.toString', exists: true }, [event({ attributes: { toString: 'y' } })], [event({ attributes: {} })]);
  });

  it('reads tag keys with dots, nested attributes and array elements', () => {
    check({ field: 'tags.browser.name', eq: 'chrome' }, [event({ tags: { 'browser.name': 'Chrome' } })], [event({ tags: { browser: 'Chrome' } })]);
    check({ field: 'attributes.http.request.method', eq: 'POST' }, [event({ attributes: { http: { request: { method: 'post' } } } })], [event({ attributes: { http: 'x' } })]);
    check({ field: 'attributes.hops.1', eq: 'b' }, [event({ attributes: { hops: ['a', 'b'] } })], [event({ attributes: { hops: ['b'] } })]);
  });

  it('combines with all, any and not to any depth', () => {
    const deep: Condition = {
      all: [
        { field: 'class', eq: 'security' },
        { any: [{ field: 'type', startswith: 'auth.' }, { not: { any: [{ field: 'severity', in: ['info', 'low'] }, { field: 'message', exists: false }] } }] },
        { not: { all: [{ field: 'environment', eq: 'test' }, { not: { field: 'tags.override', eq: 'yes' } }] } },
      ],
    };
    check(deep,
      [event({ type: 'auth.x' }), event({ type: 'db.x', severity: 'high', message: 'm' }), event({ type: 'auth.y', environment: 'test', tags: { override: 'yes' } })],
      [event({ class: 'audit', type: 'auth.x' }), event({ type: 'db.x', severity: 'low', message: 'm' }), event({ type: 'auth.y', environment: 'test' })]);
  });

  it('agrees with a naive tree-walking interpreter on random conditions and records', () => {
    const insideCidr = (nets: string[], addr: string) => {
      const list = new BlockList();
      for (const n of nets) {
        const [a, p] = n.split('/') as [string, string];
        list.addSubnet(a, Number(p), isIPv4(a) ? 'ipv4' : 'ipv6');
      }
      return isIPv4(addr) ? list.check(addr, 'ipv4') : isIPv6(addr) ? list.check(addr, 'ipv6') : false;
    };
    fc.assert(fc.property(conditionArb, fc.array(recordArb, { minLength: 1, maxLength: 8 }), (c, records) => {
      const m = matcher(c);
      for (const r of records) assert.equal(m(r as unknown as InputRecord), referenceMatch(c, r, insideCidr), JSON.stringify({ c, r }));
    }), { numRuns: 1_500 });
  });
});
