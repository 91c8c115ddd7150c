import type { AlertRecord, DeadLetterRecord, EventRecord, FlowRecord } from './records';
import type { TopicKey } from './topics';

/**
 * The few fields that differ between a record in memory and its Avro value: free-form JSON travels as
 * text because Avro has no "any JSON" type.
 */
export interface RecordOf {
  events: EventRecord;
  flows: FlowRecord;
  alerts: AlertRecord;
  deadletter: DeadLetterRecord;
}

export interface WireAdapter<T> {
  toAvro(record: T): object;
  fromAvro(value: Record<string, unknown>): T;
}

const identity = {
  toAvro: (r: object) => r,
  fromAvro: (v: Record<string, unknown>) => v,
};

export const WIRE: { [K in TopicKey]: WireAdapter<RecordOf[K]> } = {
  events: {
    toAvro: (r) => ({ ...r, attributes: JSON.stringify(r.attributes) }),
    fromAvro: (v) => ({ ...v, attributes: JSON.parse(v.attributes as string) }) as unknown as EventRecord,
  },
  flows: identity as unknown as WireAdapter<FlowRecord>,
  alerts: {
    toAvro: (r) => ({ ...r, evidence: JSON.stringify(r.evidence ?? null) }),
    fromAvro: (v) => ({ ...v, evidence: JSON.parse(v.evidence as string) }) as unknown as AlertRecord,
  },
  deadletter: identity as unknown as WireAdapter<DeadLetterRecord>,
};
