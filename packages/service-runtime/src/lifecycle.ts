import { ConfigError } from '@vigil/config';
import type { Logger } from '@vigil/logging';

export interface Running {
  /** Stop accepting work, finish what is in flight, flush, disconnect. */
  stop(): Promise<void>;
}

export interface RunServiceOptions {
  name: string;
  logger: Logger;
  start(): Promise<Running>;
  /** How long a graceful stop may take before the process exits anyway. */
  stopTimeoutMs?: number;
}

/**
 * The entry point of a deployable: starts it, and on SIGINT/SIGTERM stops it gracefully (exit 0), or exits
 * 1 if start-up fails or the stop takes too long. A configuration error prints the variables at fault.
 */
export async function runService(o: RunServiceOptions): Promise<void> {
  let running: Running;
  try {
    running = await o.start();
  } catch (err) {
    if (err instanceof ConfigError) process.stderr.write(`${o.name}: ${err.message}\n`);
    o.logger.fatal({ err }, `${o.name} failed to start`);
    o.logger.flush?.();
    process.exit(1);
  }
  o.logger.info(`${o.name} started`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    o.logger.info({ signal }, `${o.name} stopping`);
    const timer = setTimeout(() => {
      o.logger.error(`${o.name} did not stop in time; exiting`);
      process.exit(1);
    }, o.stopTimeoutMs ?? 25_000);
    try {
      await running.stop();
      clearTimeout(timer);
      o.logger.info(`${o.name} stopped`);
      o.logger.flush?.();
      process.exit(0);
    } catch (err) {
      o.logger.error({ err }, `${o.name} failed to stop cleanly`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
