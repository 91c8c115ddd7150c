import { apicurioRuntime } from './artifacts';
import { daemonComponent, type Component } from './component';

export interface RegistryOptions {
  dataDir: string;
  cacheDir: string;
  port: number;
  /**
   * `sql`: schemas live in a PostgreSQL database and survive restarts (what `vigil up` uses: a registry
   * that forgets schemas makes every stored Kafka message unreadable). `mem`: in-memory, for tests.
   */
  storage: { kind: 'mem' } | { kind: 'sql'; jdbcUrl: string; user: string; password: string };
  heapMb?: number;
}

/** The Confluent-compatible base URL of an Apicurio Registry listening on `port`. */
export const ccompatUrl = (port: number) => `http://127.0.0.1:${port}/apis/ccompat/v7`;

/** Apicurio Registry 3 (Quarkus), whose Confluent-compatible API serves @kafkajs/confluent-schema-registry. */
export function registryComponent(o: RegistryOptions): Component {
  const endpoint = ccompatUrl(o.port);
  return daemonComponent({
    name: 'registry',
    endpoint,
    dataDir: o.dataDir,
    startTimeoutMs: 120_000,
    async prepare({ home }) {
      const runtime = await apicurioRuntime(o.cacheDir);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        QUARKUS_HTTP_HOST: '127.0.0.1',
        QUARKUS_HTTP_PORT: String(o.port),
        QUARKUS_LOG_CONSOLE_COLOR: 'false',
      };
      if (o.storage.kind === 'sql') {
        Object.assign(env, {
          APICURIO_STORAGE_KIND: 'sql',
          APICURIO_STORAGE_SQL_KIND: 'postgresql',
          APICURIO_DATASOURCE_URL: o.storage.jdbcUrl,
          APICURIO_DATASOURCE_USERNAME: o.storage.user,
          APICURIO_DATASOURCE_PASSWORD: o.storage.password,
        });
      }
      const heap = o.heapMb ?? 512;
      return {
        command: 'java',
        args: [`-Xmx${heap}m`, '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-jar', runtime.jar],
        env,
        cwd: home,
      };
    },
    async healthy() {
      const res = await fetch(`${endpoint}/subjects`, { signal: AbortSignal.timeout(2000) });
      return res.ok;
    },
  });
}
