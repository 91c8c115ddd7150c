export { AvroFlowWriter, compileFlowFields } from './avro-flow-writer';
export type { FlowAttribution } from './avro-flow-writer';
export { FlowKeyCache, flowKeyText, murmur2, partitionForKey } from './partition-key';
export { FlowMessageBuilder } from './flow-messages';
export type { BuiltMessages } from './flow-messages';
export { FlowPublisher } from './flow-publisher';
export type { FlowPublisherOptions, MessageSink } from './flow-publisher';
export { FLOW_CONTENT_TYPES, FlowBodyDecoder, frameFlowBody } from './flow-body';
export type { DecodedBody, FlowBodyContext, FramedBody, MissingTemplate } from './flow-body';
