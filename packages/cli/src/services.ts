import { fileURLToPath } from 'node:url';
import type { StackEndpoints } from '@vigil/stack';
import type { ServiceSpec } from './supervisor';
import type { Settings } from './settings';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/**
 * The pipeline's services that `vigil up` supervises, each a separate process configured through the
 * environment (CONTRACT.md §2). A service is listed here once it exists under services/.
 */
export const SERVICES: Array<{ name: string; entry: string }> = [
  { name: 'ingest', entry: 'services/ingest/src/main.ts' },
  { name: 'store', entry: 'services/store/src/main.ts' },
  { name: 'collector', entry: 'services/collector/src/main.ts' },
  { name: 'api', entry: 'services/api/src/main.ts' },
  { name: 'rules', entry: 'services/rules/src/main.ts' },
  { name: 'delivery', entry: 'services/delivery/src/main.ts' },
];

export function serviceSpecs(settings: Settings, endpoints: StackEndpoints, extraEnv: NodeJS.ProcessEnv = {}): ServiceSpec[] {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    SCHEMA_REGISTRY_URL: endpoints.schemaRegistryUrl,
    DATABASE_URL: endpoints.databaseUrl,
    REDIS_URL: endpoints.redisUrl,
    VIGIL_TOPIC_PREFIX: settings.VIGIL_TOPIC_PREFIX,
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
    ...extraEnv,
  };
  return SERVICES.map((s) => ({ name: s.name, args: ['--import', 'tsx', `${ROOT}/${s.entry}`], env }));
}
