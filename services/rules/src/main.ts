import { loadConfig } from '@vigil/config';
import { createLogger } from '@vigil/logging';
import { runService } from '@vigil/service-runtime';
import { rulesConfigShape } from './config';
import { startRules } from './rules-service';

const logger = createLogger({ service: 'rules', level: process.env.VIGIL_LOG_LEVEL || 'info' });

await runService({
  name: 'rules',
  logger,
  start: async () => startRules(loadConfig(rulesConfigShape, process.env), logger),
});
