import { loadConfig } from '@vigil/config';
import { createLogger } from '@vigil/logging';
import { runService } from '@vigil/service-runtime';
import { storeConfigShape } from './config';
import { startStore } from './store';

const logger = createLogger({ service: 'store', level: process.env.VIGIL_LOG_LEVEL || 'info' });

await runService({
  name: 'store',
  logger,
  start: async () => startStore(loadConfig(storeConfigShape, process.env), logger),
});
