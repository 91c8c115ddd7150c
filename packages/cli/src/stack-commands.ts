import { migrate } from '@vigil/db';

import { stackStatus, startStack, stopStack } from '@vigil/stack';
import { databaseUrl } from './database';
import type { Output } from './output';
import { stackConfig, type Settings } from './settings';

export async function infraUp(s: Settings, out: Output) {
  const t0 = Date.now();
  const stack = await startStack(stackConfig(s, out.progress));
  out.result(
    { ...stack.endpoints, started: stack.started, ms: Date.now() - t0 },
    `dependencies are up (${((Date.now() - t0) / 1000).toFixed(1)} s)\n` +
      `  KAFKA_BROKERS=${stack.endpoints.kafkaBrokers.join(',')}\n` +
      `  SCHEMA_REGISTRY_URL=${stack.endpoints.schemaRegistryUrl}\n` +
      `  DATABASE_URL=${stack.endpoints.databaseUrl}\n` +
      `  REDIS_URL=${stack.endpoints.redisUrl}`,
  );
}

export async function infraDown(s: Settings, out: Output) {
  const stopped = await stopStack(stackConfig(s));
  out.result({ stopped }, stopped.length ? `stopped ${stopped.join(', ')}` : 'nothing was running');
}

export async function infraStatus(s: Settings, out: Output): Promise<boolean> {
  const cfg = stackConfig(s);
  const status = await stackStatus(cfg);
  const external = Object.entries(cfg.external)
    .filter(([, v]) => v)
    .map(([k]) => k);
  const allHealthy = status.every((c) => c.healthy);
  out.result(
    { components: status, external, healthy: allHealthy },
    status
      .map((c) => `${c.name.padEnd(9)} ${c.healthy ? 'healthy' : c.running ? 'running, not healthy' : 'stopped'}  ${c.endpoint}${c.pid ? `  pid ${c.pid}` : ''}`)
      .concat(external.map((k) => `${k} is set: that dependency is external`))
      .join('\n'),
  );
  return allHealthy;
}

export async function migrateCommand(s: Settings, out: Output, down?: number) {
  const ran = await migrate({
    databaseUrl: databaseUrl(s),
    ...(down ? { direction: 'down' as const, count: down } : {}),
  });
  out.result({ ran, direction: down ? 'down' : 'up' }, ran.length ? `${down ? 'reverted' : 'applied'} ${ran.join(', ')}` : 'database is up to date');
}

