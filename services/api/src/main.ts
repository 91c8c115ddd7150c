import { loadConfig } from '@vigil/config';
import { createLogger } from '@vigil/logging';
import { runService } from '@vigil/service-runtime';
import { startApi } from './api-server';
import { apiConfigShape } from './config';

const logger = createLogger({ service: 'api', level: process.env.VIGIL_LOG_LEVEL || 'info' });

await runService({
  name: 'api',
  logger,
  start: async () => startApi(loadConfig(apiConfigShape, process.env), logger),
});
