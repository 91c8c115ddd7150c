import type { Message } from 'kafkajs';
import type { TopicCodec } from '@vigil/kafka';
import type { NormalizedEvent } from '@vigil/sentry-protocol';

/**
 * Normalized events as `vigil.events.v1` messages: the value in the registry's Avro wire format,
 * the key the event id, so a retried event lands in the same partition as its first copy.
 */
export async function eventMessages(
  codec: TopicCodec<'events'>,
  events: readonly NormalizedEvent[],
): Promise<{ messages: Message[]; bytes: number }> {
  const messages: Message[] = new Array(events.length);
  let bytes = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as NormalizedEvent;
    const value = await codec.encode(event);
    bytes += value.length + 32;
    messages[i] = { key: event.event_id, value };
  }
  return { messages, bytes };
}
