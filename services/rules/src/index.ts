/**
 * What other services use of the rule engine service: the read API previews rules over stored data
 * and installs the default rule pack through these. Rules and alerts themselves (CRUD, versions,
 * acknowledge, resolve) are in @vigil/db; validation and single-record tests in @vigil/rule-engine.
 * The deployable itself is src/main.ts.
 */
export { backtestStoredRule } from './backtest/stored-backtest';
export type { StoredBacktestInput, StoredBacktestResult } from './backtest/stored-backtest';
export { storedEvents, storedFlows, StoredDataUnavailableError } from './backtest/stored-records';
export type { StoredRange } from './backtest/stored-records';
export { installDefaultRules } from './default-rules';
export type { InstallDefaultRulesInput, InstalledDefaultRules } from './default-rules';
export { rulesConfigShape } from './config';
export type { RulesConfig } from './config';
export { startRules } from './rules-service';
export type { RunningRules, RulesStatus } from './rules-service';
