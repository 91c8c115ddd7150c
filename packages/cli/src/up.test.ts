/**
 * `vigil up` (= `npm start`) for real: the command runs as its own process against the test stack, with a
 * fresh database, its own topic prefix and data directory, and every listener on a free loopback port. Its
 * `--json` result must hold a DSN and a token that work end to end — an event sent with the DSN comes back
 * from the read API, which only happens when ingest, Kafka, store, PostgreSQL and the API all run — and
 * Ctrl-C (SIGINT) must stop everything, exit 0 and free every port.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createPool } from '@vigil/db';
import { freePort, isolatedDatabase, testEnv, uniquePrefix } from '@vigil/testkit';

const BIN = fileURLToPath(new URL('../bin/vigil.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const HOST = '127.0.0.1';
// Bounds for a loaded two-core machine: six Node services start at once through tsx.
const STARTUP_MS = 150_000;
const READY_MS = 120_000;
const EVENT_MS = 60_000;
const EXIT_MS = 60_000;

interface UpResult {
  dsn: string | null;
  token: string | null;
  api: string;
  services: string[];
  endpoints: { kafkaBrokers: string[]; schemaRegistryUrl: string; databaseUrl: string; redisUrl: string };
  schema_ids: Record<string, number>;
  started: string[];
  first_run: boolean;
  startup_ms: number;
}

interface ListedEvent {
  id: string;
  project_id: number;
  message: string | null;
  class: string;
  severity: string;
}

/** A UDP port that was free a moment ago on 127.0.0.1. */
function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.on('error', reject);
    socket.bind(0, HOST, () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

/** True when something accepts TCP connections on the port. */
function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.setTimeout(5000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true); // not refused: something holds it
    });
    socket.once('error', () => resolve(false));
  });
}

/** True when nothing is bound to the UDP port. */
function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, HOST, () => socket.close(() => resolve(true)));
  });
}

let child: ChildProcess | null = null;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
let stdout = '';
let stderr = '';
let databaseUrl = '';
let dataDir = '';
let prefix = '';
const ports = {
  ingest: 0,
  api: 0,
  storeAdmin: 0,
  collectorAdmin: 0,
  rulesAdmin: 0,
  deliveryAdmin: 0,
  collectorTcp: 0,
  collectorUdp: 0,
};

/** The last lines of what the command printed on stderr (its progress and the services' logs), for failures. */
function tail(): string {
  return `\n--- vigil up stderr (end) ---\n${stderr.slice(-8000)}\n--- stdout ---\n${stdout.slice(-4000)}`;
}

before(async () => {
  databaseUrl = await isolatedDatabase();
  prefix = uniquePrefix('up');
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-up-'));
  for (const name of Object.keys(ports) as Array<keyof typeof ports>) {
    ports[name] = name === 'collectorUdp' ? await freeUdpPort() : await freePort();
  }
});

/** True while any process of the command's group (the command, its services) is alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

after(async () => {
  if (child?.pid === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    // The test failed before Ctrl-C: stop the command (which stops its services) as a user would.
    child.kill('SIGINT');
    await Promise.race([exited, sleep(EXIT_MS)]);
  }
  // Anything still alive in its group (the command, or a service it failed to stop) is killed.
  if (groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
});

after(async () => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (databaseUrl) await dropDatabase(databaseUrl).catch(() => undefined);
});

async function dropDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  assert.match(name, /^vigil_t_[0-9a-f]+$/);
  const pool = createPool(testEnv().adminDatabaseUrl, { max: 1, applicationName: 'vigil-up-test' });
  try {
    await pool.query(`drop database if exists ${name} with (force)`);
  } finally {
    await pool.end();
  }
}

/** Starts `vigil up --json` and waits for its one JSON document on stdout. */
async function startUp(): Promise<UpResult> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_') || k.startsWith('VIGIL_TEST_')));
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    // The test stack (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL come from the runner), a fresh database.
    DATABASE_URL: databaseUrl,
    VIGIL_TOPIC_PREFIX: prefix,
    VIGIL_DATA_DIR: dataDir,
    VIGIL_CACHE_DIR: testEnv().cacheDir || join(dataDir, 'cache'),
    VIGIL_LOG_LEVEL: 'info',
    // Dependencies are external, so none of these is used; set anyway so nothing could take a default port.
    VIGIL_KAFKA_PORT: String(await freePort()),
    VIGIL_KAFKA_CONTROLLER_PORT: String(await freePort()),
    VIGIL_REGISTRY_PORT: String(await freePort()),
    VIGIL_POSTGRES_PORT: String(await freePort()),
    VIGIL_REDIS_PORT: String(await freePort()),
    VIGIL_INGEST_ADDR: `${HOST}:${ports.ingest}`,
    VIGIL_API_ADDR: `${HOST}:${ports.api}`,
    VIGIL_STORE_ADMIN_ADDR: `${HOST}:${ports.storeAdmin}`,
    VIGIL_COLLECTOR_ADMIN_ADDR: `${HOST}:${ports.collectorAdmin}`,
    VIGIL_RULES_ADMIN_ADDR: `${HOST}:${ports.rulesAdmin}`,
    VIGIL_DELIVERY_ADMIN_ADDR: `${HOST}:${ports.deliveryAdmin}`,
    VIGIL_COLLECTOR_UDP: `${HOST}:${ports.collectorUdp}`,
    VIGIL_COLLECTOR_TCP: `${HOST}:${ports.collectorTcp}`,
    // Redis is shared with every other test file.
    VIGIL_API_REDIS_PREFIX: `${prefix}api:`,
    VIGIL_DELIVERY_QUEUE_PREFIX: `${prefix}delivery`,
  };
  // Its own process group (the services join it), so that `after` can end whatever is left of it.
  const proc = spawn(process.execPath, [BIN, 'up', '--json'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  child = proc;
  exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
    stderr += c;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  return new Promise<UpResult>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no JSON result within ${STARTUP_MS / 1000} s${tail()}`)), STARTUP_MS);
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      // --json promises one JSON document on stdout; it is complete once it parses.
      let value: UpResult;
      try {
        value = JSON.parse(stdout) as UpResult;
      } catch {
        return; // not complete yet (or not JSON: the timeout reports it with the output)
      }
      clearTimeout(timer);
      if (typeof value === 'object' && value !== null && 'services' in value) resolve(value);
      else reject(new Error(`stdout is not the result document${tail()}`));
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`vigil up exited (code ${code}, signal ${signal}) before printing its result${tail()}`));
    });
  });
}

const readyAfter: Record<string, number> = {};

async function waitReady(name: string, port: number): Promise<void> {
  const t0 = Date.now();
  const deadline = t0 + READY_MS;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`http://${HOST}:${port}/readyz`, { signal: AbortSignal.timeout(5000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) {
        readyAfter[name] = Date.now() - t0;
        return;
      }
    } catch (err) {
      last = (err as Error).message;
    }
    assert.ok(child?.exitCode === null, `vigil up exited while waiting for ${name}${tail()}`);
    assert.ok(Date.now() < deadline, `${name} not ready on ${port} within ${READY_MS / 1000} s (last: ${last})${tail()}`);
    await sleep(250);
  }
}

test('vigil up: first-run credentials work end to end, and Ctrl-C stops everything', async () => {
  const t0 = Date.now();
  const result = await startUp();
  const tResult = Date.now();

  // The result: a DSN of the default project, the bootstrap token, every service.
  assert.equal(result.first_run, true, 'a fresh database is a first run');
  assert.deepEqual(result.started, [], 'every dependency was given, so none was started');
  assert.equal(result.api, `http://${HOST}:${ports.api}/v1`);
  assert.deepEqual([...result.services].sort(), ['api', 'collector', 'delivery', 'ingest', 'rules', 'store']);
  assert.ok(result.dsn, 'a DSN is printed');
  assert.ok(result.token, 'an API token is printed on the first run');
  assert.match(result.token, /^vgl_[0-9A-Za-z]{43}$/);
  const dsn = new URL(result.dsn);
  assert.equal(dsn.host, `${HOST}:${ports.ingest}`);
  assert.match(dsn.username, /^[0-9a-f]{32}$/);
  const projectId = Number(dsn.pathname.slice(1));
  assert.ok(Number.isInteger(projectId) && projectId > 0, `project id in ${result.dsn}`);
  for (const topic of ['events', 'flows', 'alerts']) {
    assert.ok(Object.keys(result.schema_ids).some((t) => t.startsWith(prefix) && t.includes(topic)), `schema of ${topic} under ${prefix}`);
  }

  // Every service answers on its own port.
  await Promise.all([
    waitReady('ingest', ports.ingest),
    waitReady('api', ports.api),
    waitReady('store', ports.storeAdmin),
    waitReady('collector', ports.collectorAdmin),
    waitReady('rules', ports.rulesAdmin),
    waitReady('delivery', ports.deliveryAdmin),
  ]);
  assert.equal(await tcpOpen(ports.collectorTcp), true, 'collector IPFIX/TCP listener');
  assert.equal(await udpFree(ports.collectorUdp), false, 'collector UDP listener');
  const tReady = Date.now();

  // An event sent with the DSN, as an SDK's store request.
  const eventId = randomBytes(16).toString('hex');
  const marker = `vigil-up-${randomBytes(4).toString('hex')}`;
  const sent = await fetch(`${dsn.protocol}//${dsn.host}/api/${projectId}/store/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-sentry-auth': `Sentry sentry_version=7, sentry_key=${dsn.username}, sentry_client=vigil-up-test/1.0`,
    },
    body: JSON.stringify({
      event_id: eventId,
      timestamp: Date.now() / 1000,
      level: 'warning',
      platform: 'node',
      message: `${marker} login throttled`,
      tags: { 'vigil.class': 'security' },
    }),
    signal: AbortSignal.timeout(30_000),
  });
  const sentBody = await sent.text();
  assert.equal(sent.status, 200, `ingest answered ${sent.status} ${sentBody}${tail()}`);
  assert.deepEqual(JSON.parse(sentBody), { id: eventId });

  // It comes back from the read API with the printed token: ingest → Kafka → store → PostgreSQL → API.
  const deadline = Date.now() + EVENT_MS;
  let event: ListedEvent | undefined;
  let last = '';
  while (!event) {
    const res: Response | Error = await fetch(`${result.api}/events?limit=100`, {
      headers: { authorization: `Bearer ${result.token}` },
      signal: AbortSignal.timeout(10_000),
    }).catch((err: Error) => err);
    if (res instanceof Error) {
      last = res.message;
    } else {
      const text = await res.text();
      assert.equal(res.status, 200, `GET /v1/events answered ${res.status} ${text}`);
      const body = JSON.parse(text) as { data: ListedEvent[] };
      event = body.data.find((e) => e.id === eventId);
      last = `${body.data.length} events`;
    }
    if (event) break;
    assert.ok(Date.now() < deadline, `event ${eventId} not in GET /v1/events within ${EVENT_MS / 1000} s (last: ${last})${tail()}`);
    await sleep(250);
  }
  assert.deepEqual(
    [event.project_id, event.message, event.class, event.severity],
    [projectId, `${marker} login throttled`, 'security', 'medium'],
  );
  const tEvent = Date.now();

  // Ctrl-C: every service stops, then the command exits 0.
  child!.kill('SIGINT');
  const outcome = await Promise.race([exited, sleep(EXIT_MS).then(() => null)]);
  assert.ok(outcome, `vigil up still running ${EXIT_MS / 1000} s after SIGINT${tail()}`);
  assert.deepEqual(outcome, { code: 0, signal: null }, `exit after SIGINT${tail()}`);
  const tExit = Date.now();
  const gone = Date.now() + 5000;
  while (groupAlive(child!.pid!) && Date.now() < gone) await sleep(100);
  assert.equal(groupAlive(child!.pid!), false, 'no service process outlives the command');
  for (const [name, port] of Object.entries(ports)) {
    if (name === 'collectorUdp') assert.equal(await udpFree(port), true, `UDP ${port} (${name}) released`);
    else assert.equal(await tcpOpen(port), false, `port ${port} (${name}) closed`);
  }
  assert.match(stderr, /stopped\n/);
  // With --json, stdout held the result and nothing else (the services' logs went to stderr).
  assert.deepEqual(JSON.parse(stdout), result);

  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  console.error(
    `vigil up: result after ${s(tResult - t0)} (startup_ms ${result.startup_ms}), services ready after ${s(tReady - t0)} ` +
      `(${Object.entries(readyAfter).map(([n, ms]) => `${n} ${s(ms)}`).join(', ')}), ` +
      `event readable ${s(tEvent - tReady)} after sending, exit ${s(tExit - tEvent)} after SIGINT`,
  );
});
