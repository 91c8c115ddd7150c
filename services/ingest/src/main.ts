import { loadConfig } from '@vigil/config';
import { createLogger } from '@vigil/logging';
import { runService } from '@vigil/service-runtime';
import { ingestConfigShape } from './config';
import { startIngest } from './ingest';

const logger = createLogger({ service: 'ingest', level: process.env.VIGIL_LOG_LEVEL || 'info' });

await runService({
  name: 'ingest',
  logger,
  stopTimeoutMs: 30_000,
  start: async () => startIngest(loadConfig(ingestConfigShape, process.env), logger),
});
