import { createPool, type Pool } from '@vigil/db';
import { endpointsOf } from '@vigil/stack';
import { stackConfig, type Settings } from './settings';

/** The database of this installation: DATABASE_URL, or the local PostgreSQL that `vigil infra up` runs. */
export function databaseUrl(s: Settings): string {
  return endpointsOf(stackConfig(s)).databaseUrl;
}

export async function withDatabase<T>(s: Settings, fn: (pool: Pool) => Promise<T>): Promise<T> {
  const pool = createPool(databaseUrl(s), { max: 2, applicationName: 'vigil-cli' });
  try {
    await pool.query('select 1').catch((err: Error) => {
      throw new Error(
        `cannot reach PostgreSQL (${err.message}). Start the local stack with \`vigil infra up\` (or \`vigil up\`), or set DATABASE_URL.`,
      );
    });
    return await fn(pool);
  } finally {
    await pool.end();
  }
}
