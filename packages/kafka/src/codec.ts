import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { AVRO_SCHEMAS, WIRE, subjectFor, topicNames, type RecordOf, type TopicKey } from '@vigil/contracts';

export function createSchemaRegistry(url: string): SchemaRegistry {
  return new SchemaRegistry({ host: url.replace(/\/$/, '') });
}

/**
 * Encodes and decodes one topic's values in the Confluent wire format (magic byte 0, 4-byte schema id,
 * Avro body) through the schema registry. Decoding accepts any schema id the registry knows, so records
 * written under an older compatible schema still read.
 */
export class TopicCodec<K extends TopicKey> {
  constructor(
    readonly key: K,
    readonly topic: string,
    readonly schemaId: number,
    private readonly registry: SchemaRegistry,
  ) {}

  encode(record: RecordOf[K]): Promise<Buffer> {
    return this.registry.encode(this.schemaId, WIRE[this.key].toAvro(record));
  }

  async decode(value: Buffer): Promise<RecordOf[K]> {
    return WIRE[this.key].fromAvro((await this.registry.decode(value)) as Record<string, unknown>);
  }
}

/** Registers a schema under a subject with BACKWARD compatibility; returns its id. Idempotent. */
export async function registerSchema(registry: SchemaRegistry, subject: string, schema: object): Promise<number> {
  const { id } = await registry.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
    { subject, compatibility: COMPATIBILITY.BACKWARD },
  );
  return id;
}

export type Codecs = { [K in TopicKey]: TopicCodec<K> };

/** Registers the current schema of every topic and returns a codec per topic. */
export async function createCodecs(registry: SchemaRegistry, prefix: string): Promise<Codecs> {
  const names = topicNames(prefix);
  const make = async <K extends TopicKey>(key: K): Promise<TopicCodec<K>> => {
    const id = await registerSchema(registry, subjectFor(names[key]), AVRO_SCHEMAS[key]);
    return new TopicCodec(key, names[key], id, registry);
  };
  const [events, flows, alerts, deadletter] = await Promise.all([make('events'), make('flows'), make('alerts'), make('deadletter')]);
  return { events, flows, alerts, deadletter };
}
