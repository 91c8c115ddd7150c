import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ConfigError, cidrList, durationMs, listenAddr, loadConfig, port } from './index';

const shape = {
  VIGIL_INGEST_ADDR: listenAddr('127.0.0.1:8030'),
  VIGIL_RETENTION: durationMs('7d'),
  VIGIL_WEBHOOK_ALLOW_CIDRS: cidrList(''),
  VIGIL_KAFKA_PORT: port(9092),
  VIGIL_TOPIC_PREFIX: z.string().regex(/^[a-zA-Z0-9._-]*$/).default('vigil.'),
};

test('defaults apply when variables are unset or empty', () => {
  const cfg = loadConfig(shape, { VIGIL_TOPIC_PREFIX: '' });
  assert.deepEqual(cfg.VIGIL_INGEST_ADDR, { host: '127.0.0.1', port: 8030 });
  assert.equal(cfg.VIGIL_RETENTION, 7 * 86_400_000);
  assert.deepEqual(cfg.VIGIL_WEBHOOK_ALLOW_CIDRS, []);
  assert.equal(cfg.VIGIL_KAFKA_PORT, 9092);
  assert.equal(cfg.VIGIL_TOPIC_PREFIX, 'vigil.');
});

test('values are parsed', () => {
  const cfg = loadConfig(shape, {
    VIGIL_INGEST_ADDR: '[::1]:9000',
    VIGIL_RETENTION: '90m',
    VIGIL_WEBHOOK_ALLOW_CIDRS: '127.0.0.0/8, ::1/128',
    VIGIL_KAFKA_PORT: '19092',
  });
  assert.deepEqual(cfg.VIGIL_INGEST_ADDR, { host: '::1', port: 9000 });
  assert.equal(cfg.VIGIL_RETENTION, 90 * 60_000);
  assert.deepEqual(cfg.VIGIL_WEBHOOK_ALLOW_CIDRS, ['127.0.0.0/8', '::1/128']);
  assert.equal(cfg.VIGIL_KAFKA_PORT, 19092);
});

test('a bad value names the variable, the value and what is allowed', () => {
  assert.throws(
    () => loadConfig(shape, { VIGIL_INGEST_ADDR: 'localhost', VIGIL_KAFKA_PORT: '70000', VIGIL_WEBHOOK_ALLOW_CIDRS: '10.0.0.0/33' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const vars = err.issues.map((i) => i.variable).sort();
      assert.deepEqual(vars, ['VIGIL_INGEST_ADDR', 'VIGIL_KAFKA_PORT', 'VIGIL_WEBHOOK_ALLOW_CIDRS']);
      assert.match(err.message, /VIGIL_INGEST_ADDR="localhost": expected host:port/);
      assert.match(err.message, /VIGIL_KAFKA_PORT="70000": expected a port from 0 to 65535/);
      assert.match(err.message, /10\.0\.0\.0\/33/);
      return true;
    },
  );
});
