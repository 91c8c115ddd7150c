/**
 * Decoded flows → Kafka messages for `vigil.flows.v1`: the value is the Avro Flow record (the decoded
 * flow plus project, exporter and receive time), the key is `<project_id>/<src_addr>`.
 */
import type { Message } from 'kafkajs';
import type { DecodedFlow } from '@vigil/flow-decoder';
import type { AvroFlowWriter, FlowAttribution } from './avro-flow-writer';
import { FlowKeyCache } from './partition-key';

export interface BuiltMessages {
  messages: Message[];
  /** Flows whose values the schema cannot carry (none from a correct decoder; counted, not sent). */
  invalid: number;
}

export class FlowMessageBuilder {
  constructor(
    private readonly writer: AvroFlowWriter,
    private readonly keys = new FlowKeyCache(),
  ) {}

  build(flows: readonly DecodedFlow[], attribution: FlowAttribution): BuiltMessages {
    const messages: Message[] = [];
    let invalid = 0;
    for (let i = 0; i < flows.length; i++) {
      const flow = flows[i]!;
      let value: Buffer;
      try {
        value = this.writer.encodeFlow(flow, attribution);
      } catch {
        invalid++;
        continue;
      }
      messages.push({ key: this.keys.get(attribution.projectId, flow.src_addr), value });
    }
    return { messages, invalid };
  }
}
