export { topicNames, TOPIC_SPECS } from './topics';
export type { TopicKey, TopicNames, TopicSpec } from './topics';
export { AVRO_SCHEMAS, subjectFor } from './avro';
export {
  EVENT_CLASSES,
  SEVERITIES,
  eventRecord,
  flowRecord,
  alertRecord,
  deadLetterRecord,
  ALERT_STATUSES,
  ALERT_EVENT_TYPES,
} from './records';
export type { EventRecord, FlowRecord, AlertRecord, DeadLetterRecord, EventClass, Severity, AlertStatus, AlertEventType } from './records';
export { WIRE } from './wire';
export type { RecordOf, WireAdapter } from './wire';
