import { loadConfig } from '@vigil/config';
import { createLogger } from '@vigil/logging';
import { runService } from '@vigil/service-runtime';
import { deliveryConfigShape } from './config';
import { startDelivery } from './delivery';

const logger = createLogger({ service: 'delivery', level: process.env.VIGIL_LOG_LEVEL || 'info' });
const config = (() => {
  try {
    return loadConfig(deliveryConfigShape, process.env);
  } catch (err) {
    process.stderr.write(`delivery: ${(err as Error).message}\n`);
    process.exit(1);
  }
})();

await runService({
  name: 'delivery',
  logger,
  // In-flight requests may take the whole total timeout to finish; leave room to record them.
  stopTimeoutMs: config.VIGIL_WEBHOOK_TIMEOUT + 15_000,
  start: () => startDelivery(config, logger),
});
