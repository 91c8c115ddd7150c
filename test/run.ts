/**
 * `npm test`: starts a real, throwaway stack (Kafka, Apicurio Registry, PostgreSQL, Redis) on free ports
 * in its own data directory, runs every test file against it with Node's test runner, and stops it again.
 * Dependencies given by KAFKA_BROKERS / SCHEMA_REGISTRY_URL / DATABASE_URL / REDIS_URL are used instead.
 * Arguments filter test files by substring: `npm test -- packages/db`.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack } from '@vigil/stack';
import { freePort } from '@vigil/testkit';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);

function testFiles(): string[] {
  const files: string[] = [];
  for (const top of ['packages', 'services', 'test']) {
    if (!existsSync(join(root, top))) continue;
    for (const entry of readdirSync(join(root, top), { recursive: true, withFileTypes: false }) as string[]) {
      if (!entry.endsWith('.test.ts') || entry.includes('node_modules')) continue;
      const file = join(top, entry);
      if (filters.length === 0 || filters.some((f) => file.includes(f))) files.push(file);
    }
  }
  return files.sort();
}

const files = testFiles();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-test-'));
// PostgreSQL runs as an unprivileged user when we are root; it must be able to reach its data directory.
chmodSync(dataDir, 0o755);
const cacheDir = process.env.VIGIL_CACHE_DIR ?? join(homedir(), '.cache', 'vigil');
const t0 = Date.now();
const stack = await startStack({
  dataDir,
  cacheDir,
  ports: {
    kafka: await freePort(),
    kafkaController: await freePort(),
    registry: await freePort(),
    postgres: await freePort(),
    redis: await freePort(),
  },
  external: {
    kafkaBrokers: process.env.KAFKA_BROKERS,
    schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL,
    databaseUrl: process.env.DATABASE_URL,
    redisUrl: process.env.REDIS_URL,
  },
  registryStorage: 'mem',
  database: 'postgres',
  onProgress: (m) => console.error(`[stack] ${m}`),
}).catch((err: Error) => {
  console.error(`could not start the test stack:\n${err.message}`);
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(1);
});
console.error(`[stack] ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; data in ${relative(root, dataDir) || dataDir}`);

let cleaned = false;
async function cleanup(): Promise<void> {
  if (cleaned) return;
  cleaned = true;
  await stack.stop();
  if (!process.env.VIGIL_TEST_KEEP) rmSync(dataDir, { recursive: true, force: true });
}

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${process.env.VIGIL_TEST_CONCURRENCY ?? 2}`, '--test-timeout=300000', ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      KAFKA_BROKERS: stack.endpoints.kafkaBrokers.join(','),
      SCHEMA_REGISTRY_URL: stack.endpoints.schemaRegistryUrl,
      DATABASE_URL: stack.endpoints.databaseUrl,
      REDIS_URL: stack.endpoints.redisUrl,
      VIGIL_TEST_DATA_DIR: dataDir,
      VIGIL_TEST_CACHE_DIR: cacheDir,
      KAFKAJS_NO_PARTITIONER_WARNING: '1',
    },
  },
);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => child.kill(sig));
}
const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
await cleanup();
console.error(`[suite] ${files.length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(code);
