/**
 * A running API on an isolated database of the stack in the environment (`source /tmp/vigil-dev/env.sh`
 * or the variables of `npm test`), with an organization, a project, a token holding every scope and
 * limits high enough for load. Shared by the fuzz run and the benchmark.
 */
import { loadConfig } from '@vigil/config';
import { createApiToken, createOrganization, createPool, createProject, migrate, SCOPES, type Pool } from '@vigil/db';
import { silentLogger, isolatedDatabase, testEnv, uniquePrefix } from '@vigil/testkit';
import { startApi, type RunningApi } from '../../services/api/src/api-server';
import { apiConfigShape } from '../../services/api/src/config';

export interface ApiFixture {
  api: RunningApi;
  base: string;
  pool: Pool;
  databaseUrl: string;
  organizationId: number;
  projectId: number;
  token: string;
  stop(): Promise<void>;
}

export async function startApiFixture(options: { databaseUrl?: string; env?: Record<string, string> } = {}): Promise<ApiFixture> {
  const env = testEnv();
  const databaseUrl = options.databaseUrl ?? (await isolatedDatabase());
  await migrate({ databaseUrl });
  const api = await startApi(
    loadConfig(apiConfigShape, {
      VIGIL_API_ADDR: '127.0.0.1:0',
      DATABASE_URL: databaseUrl,
      REDIS_URL: env.redisUrl,
      VIGIL_API_REDIS_PREFIX: `${uniquePrefix('apibench').replace(/\.$/, '')}:`,
      VIGIL_API_ANONYMOUS_RATE_LIMIT: '10000000',
      VIGIL_API_DB_POOL: '20',
      ...options.env,
    }),
    silentLogger(),
  );
  const pool = createPool(databaseUrl, { max: 4 });
  const org = await createOrganization(pool, `bench-${Date.now().toString(36)}`);
  const { project } = await createProject(pool, org.id, 'bench');
  const { token } = await createApiToken(pool, { organizationId: org.id, name: 'bench', scopes: SCOPES, rateLimitPerMinute: 10_000_000 });
  return {
    api,
    base: `http://127.0.0.1:${api.port}`,
    pool,
    databaseUrl,
    organizationId: org.id,
    projectId: project.id,
    token,
    async stop() {
      await api.stop();
      await pool.end();
    },
  };
}
