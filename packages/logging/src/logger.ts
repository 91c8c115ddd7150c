import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  /** The service or tool name, written as `service` on every line. */
  service: string;
  level?: string;
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
}

/** A pino JSON logger. Child loggers carry request ids: `logger.child({ request_id })`. */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
