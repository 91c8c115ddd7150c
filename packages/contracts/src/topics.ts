/** The four Kafka topics of CONTRACT.md §1 and how they are created. */
export type TopicKey = 'events' | 'flows' | 'alerts' | 'deadletter';

export interface TopicSpec {
  /** Name without the configurable prefix. */
  suffix: string;
  partitions: number;
  /** Topic-level configs passed at creation. */
  config: Record<string, string>;
}

const WEEK_MS = String(7 * 24 * 3600 * 1000);

export const TOPIC_SPECS: Record<TopicKey, TopicSpec> = {
  events: { suffix: 'events.v1', partitions: 6, config: { 'retention.ms': WEEK_MS, 'compression.type': 'producer' } },
  flows: { suffix: 'flows.v1', partitions: 6, config: { 'retention.ms': WEEK_MS, 'compression.type': 'producer' } },
  alerts: { suffix: 'alerts.v1', partitions: 3, config: { 'retention.ms': String(30 * 24 * 3600 * 1000) } },
  deadletter: { suffix: 'deadletter.v1', partitions: 1, config: { 'retention.ms': String(30 * 24 * 3600 * 1000) } },
};

export type TopicNames = Record<TopicKey, string>;

/** Topic names for a prefix (`VIGIL_TOPIC_PREFIX`, default `vigil.`). */
export function topicNames(prefix = 'vigil.'): TopicNames {
  return {
    events: prefix + TOPIC_SPECS.events.suffix,
    flows: prefix + TOPIC_SPECS.flows.suffix,
    alerts: prefix + TOPIC_SPECS.alerts.suffix,
    deadletter: prefix + TOPIC_SPECS.deadletter.suffix,
  };
}
