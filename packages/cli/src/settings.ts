import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, listenAddr, port, url } from '@vigil/config';
import type { StackConfig } from '@vigil/stack';
import { z } from 'zod';

/** Every variable the command line reads, validated once (CONTRACT.md §2). */
export const settingsShape = {
  VIGIL_DATA_DIR: z.string().default('./.vigil'),
  VIGIL_CACHE_DIR: z.string().optional(),
  VIGIL_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"')
    .default('vigil.'),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'expected host:port[,host:port…]')
    .optional(),
  SCHEMA_REGISTRY_URL: url(['http', 'https']).optional(),
  DATABASE_URL: url(['postgres', 'postgresql']).optional(),
  REDIS_URL: url(['redis', 'rediss']).optional(),
  VIGIL_KAFKA_PORT: port(9092),
  VIGIL_KAFKA_CONTROLLER_PORT: port(9093),
  VIGIL_REGISTRY_PORT: port(8081),
  VIGIL_POSTGRES_PORT: port(5432),
  VIGIL_REDIS_PORT: port(6379),
  VIGIL_INGEST_ADDR: listenAddr('127.0.0.1:8030'),
  VIGIL_API_ADDR: listenAddr('127.0.0.1:8040'),
  /** Scheme, host and port that senders use to reach ingest, when it is behind a proxy. */
  VIGIL_PUBLIC_URL: url(['http', 'https']).optional(),
};

export type Settings = ReturnType<typeof readSettings>;

export function readSettings(env: NodeJS.ProcessEnv = process.env) {
  return loadConfig(settingsShape, env);
}

export function stackConfig(s: Settings, onProgress?: (m: string) => void): StackConfig {
  return {
    dataDir: resolve(s.VIGIL_DATA_DIR),
    cacheDir: s.VIGIL_CACHE_DIR ? resolve(s.VIGIL_CACHE_DIR) : join(homedir(), '.cache', 'vigil'),
    ports: {
      kafka: s.VIGIL_KAFKA_PORT,
      kafkaController: s.VIGIL_KAFKA_CONTROLLER_PORT,
      registry: s.VIGIL_REGISTRY_PORT,
      postgres: s.VIGIL_POSTGRES_PORT,
      redis: s.VIGIL_REDIS_PORT,
    },
    external: {
      kafkaBrokers: s.KAFKA_BROKERS,
      schemaRegistryUrl: s.SCHEMA_REGISTRY_URL,
      databaseUrl: s.DATABASE_URL,
      redisUrl: s.REDIS_URL,
    },
    registryStorage: 'sql',
    database: 'vigil',
    ...(onProgress ? { onProgress } : {}),
  };
}

/** The base URL senders put in their DSN: the public URL, or the ingest listen address. */
export function ingestBaseUrl(s: Settings): URL {
  if (s.VIGIL_PUBLIC_URL) return new URL(s.VIGIL_PUBLIC_URL);
  const { host, port: p } = s.VIGIL_INGEST_ADDR;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return new URL(`http://${shown}:${p}`);
}

/** `http(s)://PUBLIC_KEY@HOST:PORT/PROJECT_ID` (CONTRACT.md §4). */
export function formatDsn(base: URL, publicKey: string, projectId: number): string {
  const u = new URL(base);
  u.username = publicKey;
  u.pathname = `${u.pathname.replace(/\/$/, '')}/${projectId}`;
  return u.toString();
}
