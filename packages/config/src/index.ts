export { loadConfig, ConfigError } from './load';
export type { ConfigIssue } from './load';
export { listenAddr, port, url, durationMs, csv, cidrList, logLevel } from './types';
export type { ListenAddr } from './types';
