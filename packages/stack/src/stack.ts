import type { Component, ComponentName, ComponentStatus } from './component';
import { kafkaComponent } from './kafka';
import { ensureDatabase, postgresComponent, postgresCredentials } from './postgres';
import { redisComponent } from './redis';
import { registryComponent } from './registry';

export interface StackPorts {
  kafka: number;
  kafkaController: number;
  registry: number;
  postgres: number;
  redis: number;
}

export interface StackConfig {
  /** Where local dependencies keep data, logs (`logs/`) and pid files (`run/`). */
  dataDir: string;
  /** Where downloaded runtimes (Kafka jars, Apicurio) are cached across data dirs. */
  cacheDir: string;
  ports: StackPorts;
  /** Dependencies given by the user; those set are used as they are and never started or stopped. */
  external: { kafkaBrokers?: string | undefined; schemaRegistryUrl?: string | undefined; databaseUrl?: string | undefined; redisUrl?: string | undefined };
  /** `sql` keeps schemas in PostgreSQL across restarts; `mem` is for throwaway stacks (tests). */
  registryStorage: 'sql' | 'mem';
  /** Name of Vigil's own database on the local PostgreSQL. */
  database?: string;
  onProgress?: (message: string) => void;
}

export interface StackEndpoints {
  kafkaBrokers: string[];
  schemaRegistryUrl: string;
  databaseUrl: string;
  redisUrl: string;
}

export interface StartedStack {
  endpoints: StackEndpoints;
  /** Components this call started (not reused, not external): the ones `stop()` stops. */
  started: ComponentName[];
  timings: Partial<Record<ComponentName, number>>;
  stop(): Promise<void>;
}

const REGISTRY_DATABASE = 'vigil_schemas';

function components(cfg: StackConfig): Partial<Record<ComponentName, Component>> {
  const { dataDir, cacheDir, ports, external } = cfg;
  const out: Partial<Record<ComponentName, Component>> = {};
  if (!external.databaseUrl) out.postgres = postgresComponent({ dataDir, port: ports.postgres });
  if (!external.kafkaBrokers) out.kafka = kafkaComponent({ dataDir, cacheDir, port: ports.kafka, controllerPort: ports.kafkaController });
  if (!external.redisUrl) out.redis = redisComponent({ dataDir, port: ports.redis });
  if (!external.schemaRegistryUrl) {
    out.registry = registryComponent({ dataDir, cacheDir, port: ports.registry, storage: registryStorage(cfg) });
  }
  return out;
}

function registryStorage(cfg: StackConfig) {
  if (cfg.registryStorage === 'mem') return { kind: 'mem' as const };
  if (cfg.external.databaseUrl) {
    const u = new URL(cfg.external.databaseUrl);
    return {
      kind: 'sql' as const,
      jdbcUrl: `jdbc:postgresql://${u.host}/${REGISTRY_DATABASE}`,
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
    };
  }
  const creds = postgresCredentials(cfg.dataDir, cfg.ports.postgres);
  return { kind: 'sql' as const, jdbcUrl: creds.jdbcUrl(REGISTRY_DATABASE), user: creds.user, password: creds.password };
}

export function endpointsOf(cfg: StackConfig): StackEndpoints {
  const db = cfg.database ?? 'vigil';
  return {
    kafkaBrokers: (cfg.external.kafkaBrokers ?? `127.0.0.1:${cfg.ports.kafka}`).split(',').map((s) => s.trim()).filter(Boolean),
    schemaRegistryUrl: cfg.external.schemaRegistryUrl ?? `http://127.0.0.1:${cfg.ports.registry}/apis/ccompat/v7`,
    databaseUrl: cfg.external.databaseUrl ?? postgresCredentials(cfg.dataDir, cfg.ports.postgres).url(db),
    redisUrl: cfg.external.redisUrl ?? `redis://127.0.0.1:${cfg.ports.redis}`,
  };
}

/**
 * Starts every dependency not given by the user, in parallel where they do not depend on each other (the
 * registry with SQL storage waits for PostgreSQL). Idempotent: instances already running from this data
 * directory are reused. On failure, whatever this call started is stopped again.
 */
export async function startStack(cfg: StackConfig): Promise<StartedStack> {
  const parts = components(cfg);
  const endpoints = endpointsOf(cfg);
  const started: ComponentName[] = [];
  const timings: Partial<Record<ComponentName, number>> = {};
  const say = cfg.onProgress ?? (() => undefined);
  const startOne = async (c: Component | undefined) => {
    if (!c) return;
    say(`starting ${c.name}`);
    const r = await c.start();
    timings[c.name] = r.ms;
    if (!r.reused) started.push(c.name);
    say(`${c.name} ${r.reused ? 'already running' : 'started'} at ${c.endpoint} (${r.ms} ms)`);
  };
  const stop = async () => {
    for (const name of [...started].reverse()) await parts[name]?.stop();
  };
  try {
    const needsDb = cfg.registryStorage === 'sql' && parts.registry;
    const dbThenRegistry = (async () => {
      await startOne(parts.postgres);
      const adminUrl = new URL(endpoints.databaseUrl);
      adminUrl.pathname = parts.postgres ? '/postgres' : adminUrl.pathname;
      if (parts.postgres) await ensureDatabase(adminUrl.toString(), cfg.database ?? 'vigil');
      if (needsDb) await ensureDatabase(adminUrl.toString(), REGISTRY_DATABASE);
      if (needsDb) await startOne(parts.registry);
    })();
    const results = await Promise.allSettled([
      dbThenRegistry,
      startOne(parts.kafka),
      startOne(parts.redis),
      needsDb ? Promise.resolve() : startOne(parts.registry),
    ]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw new Error(failed.map((f) => (f.reason as Error).message).join('\n\n'));
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoints, started, timings, stop };
}

/** Stops every local dependency of this data directory, whoever started it. */
export async function stopStack(cfg: StackConfig): Promise<ComponentName[]> {
  const parts = components(cfg);
  const stopped: ComponentName[] = [];
  for (const name of ['registry', 'kafka', 'redis', 'postgres'] as const) {
    if (await parts[name]?.stop()) stopped.push(name);
  }
  return stopped;
}

export async function stackStatus(cfg: StackConfig): Promise<ComponentStatus[]> {
  const parts = components(cfg);
  return Promise.all(Object.values(parts).map((c) => c.status()));
}
