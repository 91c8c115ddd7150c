import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface MigrateOptions {
  databaseUrl: string;
  direction?: 'up' | 'down';
  /** How many migrations to apply or revert; all pending when omitted (up), one (down). */
  count?: number;
  log?: (message: string) => void;
}

/**
 * Applies the SQL migrations in packages/db/migrations (node-pg-migrate, advisory-locked so concurrent
 * starters do not race). Returns the names of the migrations run.
 */
export async function migrate(options: MigrateOptions): Promise<string[]> {
  const direction = options.direction ?? 'up';
  const ran = await runner({
    databaseUrl: options.databaseUrl,
    dir: MIGRATIONS_DIR,
    direction,
    count: options.count ?? (direction === 'up' ? Infinity : 1),
    migrationsTable: 'vigil_migrations',
    checkOrder: true,
    singleTransaction: true,
    advisoryLockMode: 'wait',
    log: options.log ?? (() => undefined),
    verbose: false,
  });
  return ran.map((m) => m.name);
}
