/**
 * @vigil/rule-engine — detection rules for Vigil: schema, compilation, routing, event-time
 * windows, suppression, deterministic alerts, state snapshots, backtest and the default pack.
 * Pure: no I/O, no environment, no clocks; the same input in the same order gives the same output.
 */
import { compileRule } from './match/compile';
import type { InputRecord } from './records';
import type { Rule } from './rule/schema';

export { parseRule, parseRules, validateRule, formatPath, RuleValidationError } from './rule/schema';
export type { Rule, RuleInput, Aggregate, AggregateFunction, Suppress, RuleIssue, ParseResult } from './rule/schema';
export type { Condition, FieldCondition, AllCondition, AnyCondition, NotCondition, Scalar, Operator } from './rule/condition';
export { OPERATORS } from './rule/condition';
export type { EventRecord, EventUser, FlowRecord, InputRecord, Source, Severity } from './records';
export { eventTime, eventTimeMs } from './records';
export type { Alert, GroupValue } from './stream/alert';
export { sameDetection } from './stream/alert';
export type { Evidence, EventEvidence, FlowEvidence, FlowSample, TopEntry, DistinctSample } from './stream/evidence';
export { RuleEngine, createEngine } from './stream/engine';
export type { EngineOptions, LoadReport, RestoreReport, RuleStatus, EngineStats } from './stream/engine';
export type { RuleCounters } from './stream/detect';
export type { StateEntry, SerializedState, SerializedGroup, SerializedClock } from './stream/state';
export { backtest } from './stream/backtest';
export type { BacktestOptions, BacktestResult } from './stream/backtest';
export { defaultRulePack, DEFAULT_INTERNAL_NETWORKS } from './rule/default-pack';
export type { DefaultPackOptions } from './rule/default-pack';
export { parseDuration, formatDuration } from './rule/duration';
export { ENGINE_FIELDS, fieldsRead, ruleFields } from './rule/record-fields';

/** The rule's compiled match predicate alone (e.g. to test a rule against a sample record). */
export function createMatcher(rule: Rule): (record: InputRecord) => boolean {
  return compileRule(rule).matches;
}
