import { createPool, migrate } from '@vigil/db';
import { createLogger } from '@vigil/logging';
import { startStack } from '@vigil/stack';
import { defaultKey, firstRun, prepareTopics } from './bootstrap';
import type { Output } from './output';
import { serviceSpecs, SERVICES } from './services';
import { formatDsn, ingestBaseUrl, stackConfig, type Settings } from './settings';
import { Supervisor } from './supervisor';

/**
 * `vigil up` (= `npm start`): dependencies, migrations, topics and schemas, first-run credentials, then
 * every service under supervision until Ctrl-C, which stops the services and whatever this run started.
 */
export async function up(s: Settings, out: Output): Promise<void> {
  const t0 = Date.now();
  // Logs go to stderr, with the progress messages: with --json, stdout holds the result document only.
  const logger = createLogger({ service: 'vigil', level: process.env.VIGIL_LOG_LEVEL ?? 'warn', destination: process.stderr });
  const stack = await startStack(stackConfig(s, out.progress));
  let supervisor: Supervisor | null = null;
  let shuttingDown = false;
  const shutdown = async (code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    out.progress('stopping…');
    await supervisor?.stop();
    await stack.stop();
    out.progress('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    const migrations = await migrate({ databaseUrl: stack.endpoints.databaseUrl });
    if (migrations.length) out.progress(`applied migrations: ${migrations.join(', ')}`);
    const schemaIds = await prepareTopics(stack.endpoints, s.VIGIL_TOPIC_PREFIX, logger);
    out.progress(`topics ready; schema ids ${JSON.stringify(schemaIds)}`);

    const pool = createPool(stack.endpoints.databaseUrl, { max: 2, applicationName: 'vigil-up' });
    const first = await firstRun(pool);
    const key = first ? { projectId: first.project.id, publicKey: first.publicKey } : await defaultKey(pool);
    await pool.end();

    supervisor = new Supervisor(logger, undefined, out.json ? 'stderr' : 'inherit');
    supervisor.start(serviceSpecs(s, stack.endpoints, { VIGIL_WEBHOOK_ALLOW_CIDRS: process.env.VIGIL_WEBHOOK_ALLOW_CIDRS ?? '127.0.0.0/8,::1/128' }));

    const dsn = key ? formatDsn(ingestBaseUrl(s), key.publicKey, key.projectId) : null;
    const api = `http://${s.VIGIL_API_ADDR.host}:${s.VIGIL_API_ADDR.port}/v1`;
    const seconds = ((Date.now() - t0) / 1000).toFixed(1);
    out.result(
      {
        dsn,
        token: first?.token ?? null,
        api,
        services: SERVICES.map((x) => x.name),
        endpoints: stack.endpoints,
        schema_ids: schemaIds,
        started: stack.started,
        first_run: Boolean(first),
        startup_ms: Date.now() - t0,
      },
      [
        `Vigil is up (${seconds} s).`,
        '',
        `  DSN        ${dsn ?? '(no active key in the default organization)'}`,
        first
          ? `  API token  ${first.token}\n             shown once: store it now (more with \`vigil token create\`)`
          : '  API token  printed on the first start; create another with `npm run vigil -- token create --org default --scopes all`',
        `  API        ${api}`,
        `  services   ${SERVICES.length ? SERVICES.map((x) => x.name).join(', ') : '(none yet)'}`,
        `  data       ${stackConfig(s).dataDir} (logs in logs/)`,
        '',
        'Press Ctrl-C to stop.',
      ].join('\n'),
    );
  } catch (err) {
    out.progress(`start-up failed: ${(err as Error).message}`);
    await shutdown(1);
  }
  // Stay in the foreground until a signal arrives, even while no service holds the event loop open.
  setInterval(() => undefined, 1 << 30);
}
