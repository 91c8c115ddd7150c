import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@vigil/logging';
import pg from 'pg';

export interface TestEnv {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  /** A URL with administrative rights on the test PostgreSQL (databases are created from it). */
  adminDatabaseUrl: string;
  redisUrl: string;
  dataDir: string;
  cacheDir: string;
}

/**
 * Endpoints of the real dependencies that `npm test` (test/run.ts) started for this run. Test files run as
 * separate processes and read them from the environment.
 */
export function testEnv(): TestEnv {
  const env = process.env;
  const missing = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'DATABASE_URL', 'REDIS_URL'].filter((k) => !env[k]);
  if (missing.length) {
    throw new Error(`${missing.join(', ')} not set: run the suite with \`npm test\`, which starts the real stack first`);
  }
  return {
    kafkaBrokers: env.KAFKA_BROKERS!.split(','),
    schemaRegistryUrl: env.SCHEMA_REGISTRY_URL!,
    adminDatabaseUrl: env.DATABASE_URL!,
    redisUrl: env.REDIS_URL!,
    dataDir: env.VIGIL_TEST_DATA_DIR ?? '',
    cacheDir: env.VIGIL_TEST_CACHE_DIR ?? '',
  };
}

/** A short random suffix, so topics, groups and databases of concurrent runs never meet. */
export function uniquePrefix(label = 't'): string {
  return `${label}${randomBytes(5).toString('hex')}.`;
}

/**
 * A fresh, empty database on the test server; returns its URL. Callers apply migrations themselves
 * (`migrate` from @vigil/db), which keeps this kit free of the packages it helps test.
 */
export async function isolatedDatabase(): Promise<string> {
  const admin = new URL(testEnv().adminDatabaseUrl);
  const name = `vigil_t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function silentLogger(): Logger {
  return createLogger({ service: 'test', level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) as never });
}
