/**
 * `npm test`: starts a real, throwaway stack (Kafka, Apicurio Registry, PostgreSQL, Redis) on free ports
 * in its own data directory, runs every test file against it with Node's test runner, and stops it again.
 * Dependencies given by KAFKA_BROKERS / SCHEMA_REGISTRY_URL / DATABASE_URL / REDIS_URL are used instead.
 * Arguments filter test files by substring: `npm test -- packages/db`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

const testEnvVars = {
  ...process.env,
  KAFKA_BROKERS: stack.endpoints.kafkaBrokers.join(','),
  SCHEMA_REGISTRY_URL: stack.endpoints.schemaRegistryUrl,
  DATABASE_URL: stack.endpoints.databaseUrl,
  REDIS_URL: stack.endpoints.redisUrl,
  VIGIL_TEST_DATA_DIR: dataDir,
  VIGIL_TEST_CACHE_DIR: cacheDir,
  KAFKAJS_NO_PARTITIONER_WARNING: '1',
};

let current: ChildProcess | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => current?.kill(sig));
}

/** Runs test files with Node's runner; TAP goes to the console and, for reading back failures, to a file. */
function runFiles(list: string[], concurrency: string, tapFile: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=300000',
      // A file whose tests and hooks all finished ends there, even if a client library left
      // something pending (kafkajs reconnect loops after a broker restart, for one).
      '--test-force-exit',
      '--test-reporter=tap', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tapFile}`,
      ...list,
    ],
    { cwd: root, stdio: 'inherit', env: testEnvVars },
  );
  current = child;
  return new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
}

/** Test files with a failing test, from the `location:` of each `not ok` in a TAP report. */
function failedFiles(tapFile: string): string[] {
  const failed = new Set<string>();
  const lines = existsSync(tapFile) ? readFileSync(tapFile, 'utf8').split('\n') : [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*not ok /.test(lines[i]!)) continue;
    for (let j = i + 1; j < Math.min(lines.length, i + 12); j++) {
      const m = /location: '(.+?\.test\.ts):\d+:\d+'/.exec(lines[j]!);
      if (m) {
        failed.add(relative(root, m[1]!));
        break;
      }
    }
  }
  return [...failed].filter((f) => files.includes(f));
}

const concurrency = process.env.VIGIL_TEST_CONCURRENCY ?? (process.env.CI ? '1' : '2');
let code = await runFiles(files, concurrency, join(dataDir, 'report.tap'));
if (code !== 0 && !process.env.VIGIL_TEST_NO_RETRY) {
  // Tests that start brokers, kill processes or bound latencies share two cores with everything else; a file
  // that failed is run once more, alone, and the suite passes only if it passes then. The first failure stays
  // in the output above.
  const again = failedFiles(join(dataDir, 'report.tap'));
  if (again.length > 0 && again.length <= 5) {
    console.error(`[suite] running ${again.length} failed file(s) once more, one at a time: ${again.join(', ')}`);
    code = await runFiles(again, '1', join(dataDir, 'retry.tap'));
  }
}
await cleanup();
console.error(`[suite] ${files.length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(code);
