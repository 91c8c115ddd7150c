/**
 * Decoded flows → Kafka messages for `vigil.flows.v1`: the value is the Avro Flow record (the decoded
 * flow plus project, exporter and receive time), the key is `<project_id>/<src_addr>`.
 *
 * Two things the decoder may produce that the contract cannot carry are settled here: a fractional
 * sampling rate (packet interval and space, RFC 5476, e.g. 10 of every 33) is kept rounded to the
 * nearest integer ≥ 1 — bytes and packets were already multiplied by the exact rate — and a counter
 * or time beyond 2^53 (which only corrupt or hostile datagrams carry) makes the flow `out_of_range`:
 * counted and not sent.
 */
import type { Message } from 'kafkajs';
import type { DecodedFlow } from '@vigil/flow-decoder';
import type { AvroFlowWriter, FlowAttribution } from './avro-flow-writer';
import { FlowKeyCache } from './partition-key';

export interface BuiltMessages {
  messages: Message[];
  /** Flows with a counter or time beyond 2^53 (counted, not sent). */
  outOfRange: number;
}

export class FlowMessageBuilder {
  constructor(
    private readonly writer: AvroFlowWriter,
    private readonly keys = new FlowKeyCache(),
  ) {}

  build(flows: readonly DecodedFlow[], attribution: FlowAttribution): BuiltMessages {
    const messages: Message[] = [];
    let outOfRange = 0;
    for (let i = 0; i < flows.length; i++) {
      const flow = flows[i]!;
      if (!Number.isInteger(flow.sampling_rate)) flow.sampling_rate = Math.max(1, Math.round(flow.sampling_rate));
      let value: Buffer;
      try {
        value = this.writer.encodeFlow(flow, attribution);
      } catch {
        outOfRange++;
        continue;
      }
      messages.push({ key: this.keys.get(attribution.projectId, flow.src_addr), value });
    }
    return { messages, outOfRange };
  }
}
