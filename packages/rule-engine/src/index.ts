/**
 * @vigil/rule-engine — detection rules for Vigil: schema, compilation, routing, event-time
 * windows, suppression, deterministic alerts, state snapshots, backtest and the default pack.
 * Pure: no I/O, no environment, no clocks; the same input in the same order gives the same output.
 */
import { compileRule } from './compile';
import type { InputRecord } from './records';
import type { Rule } from './schema';

export { parseRule, parseRules, validateRule, formatPath, RuleValidationError } from './schema';
export type { Rule, RuleInput, Aggregate, AggregateFunction, Suppress, RuleIssue, ParseResult } from './schema';
export type { Condition, FieldCondition, AllCondition, AnyCondition, NotCondition, Scalar, Operator } from './condition';
export { OPERATORS } from './condition';
export type { EventRecord, EventUser, FlowRecord, InputRecord, Source, Severity } from './records';
export { eventTime } from './records';
export type { Alert, GroupValue } from './alert';
export type { Evidence, EventEvidence, FlowEvidence, FlowSample, TopEntry } from './evidence';
export { RuleEngine, createEngine } from './engine';
export type { EngineOptions, LoadReport, RestoreReport, RuleStatus, EngineStats } from './engine';
export type { RuleCounters } from './detect';
export type { StateEntry, SerializedState, SerializedGroup, SerializedClock } from './state';
export { backtest } from './backtest';
export type { BacktestOptions, BacktestResult } from './backtest';
export { defaultRulePack, DEFAULT_INTERNAL_NETWORKS } from './default-pack';
export type { DefaultPackOptions } from './default-pack';
export { parseDuration, formatDuration } from './duration';

/** The rule's compiled match predicate alone (e.g. to test a rule against a sample record). */
export function createMatcher(rule: Rule): (record: InputRecord) => boolean {
  return compileRule(rule).matches;
}
