import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AVRO_SCHEMAS } from '@vigil/contracts';
import { createKafka, createSchemaRegistry, registerSchema } from '@vigil/kafka';
import { freePort, silentLogger, testEnv } from '@vigil/testkit';
import pg from 'pg';
import { isAlive } from './daemon';
import { redisComponent } from './redis';
import { stackStatus, startStack, stopStack, type StackConfig } from './index';

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-stack-'));
chmodSync(dataDir, 0o755);
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function config(): Promise<StackConfig> {
  return {
    dataDir,
    cacheDir: testEnv().cacheDir,
    ports: {
      kafka: await freePort(),
      kafkaController: await freePort(),
      registry: await freePort(),
      postgres: await freePort(),
      redis: await freePort(),
    },
    external: {},
    registryStorage: 'sql',
    database: 'vigil',
  };
}

const pidsOf = (names: string[]) => names.map((n) => Number(readFileSync(join(dataDir, 'run', `${n}.pid`), 'utf8')));

test('start, reuse, stop, start again: data and schema ids survive, nothing is left running', async (t) => {
  const cfg = await config();
  // Whatever happens, leave nothing running.
  t.after(() => stopStack(cfg));
  const first = await startStack(cfg);
  assert.deepEqual([...first.started].sort(), ['kafka', 'postgres', 'redis', 'registry']);
  const status = await stackStatus(cfg);
  assert.ok(status.every((c) => c.healthy), JSON.stringify(status));
  const pids = pidsOf(['kafka', 'postgres', 'redis', 'registry']);

  // Leave data in every dependency.
  const registry = createSchemaRegistry(first.endpoints.schemaRegistryUrl);
  const schemaId = await registerSchema(registry, 'restart-check-value', AVRO_SCHEMAS.flows);
  const db = new pg.Client({ connectionString: first.endpoints.databaseUrl });
  await db.connect();
  await db.query('create table survives (v text)');
  await db.query("insert into survives values ('yes')");
  await db.end();
  const kafka = createKafka({ brokers: first.endpoints.kafkaBrokers, clientId: 'stack-test', logger: silentLogger() });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'survives', numPartitions: 2 }], waitForLeaders: true });
  await admin.disconnect();

  // A second start finds everything running and reuses it.
  const again = await startStack(cfg);
  assert.deepEqual(again.started, []);
  assert.deepEqual(pidsOf(['kafka', 'postgres', 'redis', 'registry']), pids);

  const stopped = await stopStack(cfg);
  assert.deepEqual([...stopped].sort(), ['kafka', 'postgres', 'redis', 'registry']);
  for (const pid of pids) assert.equal(isAlive(pid), false, `process ${pid} still running after stop`);
  assert.ok((await stackStatus(cfg)).every((c) => !c.running && !c.healthy));

  const t0 = Date.now();
  const second = await startStack(cfg);
  const restartMs = Date.now() - t0;
  // A restart takes about 10 s on an idle machine; here it shares two cores with the rest of the suite, so
  // the bound is loose: it still catches a restart that re-downloads, re-formats or waits on a timeout.
  assert.ok(restartMs < 60_000, `restart took ${restartMs} ms`);
  process.stderr.write(`# stack restart took ${restartMs} ms\n`);

  assert.equal(await registerSchema(createSchemaRegistry(second.endpoints.schemaRegistryUrl), 'restart-check-value', AVRO_SCHEMAS.flows), schemaId);
  const db2 = new pg.Client({ connectionString: second.endpoints.databaseUrl });
  await db2.connect();
  assert.deepEqual((await db2.query('select v from survives')).rows, [{ v: 'yes' }]);
  await db2.end();
  const admin2 = createKafka({ brokers: second.endpoints.kafkaBrokers, clientId: 'stack-test', logger: silentLogger() }).admin();
  await admin2.connect();
  const meta = await admin2.fetchTopicMetadata({ topics: ['survives'] });
  assert.equal(meta.topics[0]?.partitions.length, 2);
  await admin2.disconnect();

  const newPids = pidsOf(['kafka', 'postgres', 'redis', 'registry']);
  await second.stop();
  for (const pid of newPids) assert.equal(isAlive(pid), false, `process ${pid} still running after stop`);
});

test('a dependency that cannot start fails with the tail of its log', async () => {
  // Something that is not Redis holds the port: redis-server exits with "Address already in use".
  const squatter = createServer((s) => s.end('not redis\r\n'));
  const port: number = await new Promise((r) => squatter.listen(0, '127.0.0.1', () => r((squatter.address() as { port: number }).port)));
  try {
    const ownDir = mkdtempSync(join(tmpdir(), 'vigil-redis-'));
    const redis = redisComponent({ dataDir: ownDir, port });
    await assert.rejects(redis.start(), (err: Error) => {
      assert.match(err.message, /redis exited during start-up\. Last lines of .*redis\.log/);
      assert.match(err.message, /(Address already in use|bind)/i);
      return true;
    });
  } finally {
    squatter.close();
  }
});
