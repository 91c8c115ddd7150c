import { loadConfig } from '@vigil/config';
import { createLogger } from '@vigil/logging';
import { runService } from '@vigil/service-runtime';
import { startCollector } from './collector';
import { collectorConfigShape } from './config';

const logger = createLogger({ service: 'collector', level: process.env.VIGIL_LOG_LEVEL || 'info' });

await runService({
  name: 'collector',
  logger,
  stopTimeoutMs: 30_000,
  start: async () =>
    startCollector(loadConfig(collectorConfigShape, process.env), logger, {
      // Without a producer thread nothing reaches Kafka: exit so the supervisor starts a fresh process.
      onFatal: () => {
        logger.flush?.();
        process.exit(1);
      },
    }),
});
