export { createLogger } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { newRequestId, REQUEST_ID_HEADER } from './request-id';
