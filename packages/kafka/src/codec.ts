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
  /** The schema's avsc type, once the registry handed it out (null: encode through the registry). */
  private writer: Promise<AvroWriter | null> | null = null;

  constructor(
    readonly key: K,
    readonly topic: string,
    readonly schemaId: number,
    private readonly registry: SchemaRegistry,
  ) {}

  /**
   * The same bytes as the registry's `encode` (magic byte, schema id, Avro body), written once into a
   * buffer of the right size: the registry's path zero-fills a buffer for the body, copies into it
   * from avsc's scratch buffer and then concatenates the header in front, three allocations and two
   * copies per message. A value the schema does not accept goes through the registry's path, so it
   * fails with the registry's validation error naming the invalid fields.
   */
  async encode(record: RecordOf[K]): Promise<Buffer> {
    const value = WIRE[this.key].toAvro(record);
    const writer = await (this.writer ??= this.avroWriter());
    if (writer !== null) {
      try {
        return encodeWire(writer, this.schemaId, value);
      } catch {
        // Fall through: the registry reports what is invalid.
      }
    }
    return this.registry.encode(this.schemaId, value);
  }

  async decode(value: Buffer): Promise<RecordOf[K]> {
    return WIRE[this.key].fromAvro((await this.registry.decode(value)) as Record<string, unknown>);
  }

  private async avroWriter(): Promise<AvroWriter | null> {
    try {
      const schema = (await this.registry.getSchema(this.schemaId)) as Partial<AvroWriter>;
      return typeof schema.encode === 'function' ? (schema as AvroWriter) : null;
    } catch {
      // Not cached and the registry is unreachable: the registry's path retries on every encode.
      this.writer = null;
      return null;
    }
  }
}

interface AvroWriter {
  encode(value: unknown, buffer: Buffer, position: number): number;
}

/** Magic byte and 4-byte schema id in front of every value. */
const WIRE_HEADER_BYTES = 5;
/** Where values are encoded before being copied into a buffer of their size; grows to the largest value seen. */
let scratch = Buffer.allocUnsafe(64 * 1024);

function encodeWire(writer: AvroWriter, schemaId: number, value: object): Buffer {
  let end = writer.encode(value, scratch, WIRE_HEADER_BYTES);
  if (end < 0) {
    // avsc returns minus the bytes missing; the value is encoded again into a larger scratch buffer.
    scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
    end = writer.encode(value, scratch, WIRE_HEADER_BYTES);
    if (end < 0) throw new RangeError('Avro value does not fit the scratch buffer');
  }
  const out = Buffer.allocUnsafe(end);
  scratch.copy(out, WIRE_HEADER_BYTES, WIRE_HEADER_BYTES, end);
  out[0] = 0;
  out.writeInt32BE(schemaId, 1);
  return out;
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
