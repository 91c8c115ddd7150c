/** Pinned versions of the local dependencies. The Kafka pom in infra/kafka takes its version from here. */
export const KAFKA_VERSION = '4.1.1';
export const APICURIO_VERSION = '3.0.9';
