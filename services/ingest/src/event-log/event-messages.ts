import { createRequire } from 'node:module';
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

/**
 * avsc encodes into one shared scratch buffer of 1 KiB and, when a value does not fit, encodes it
 * a second time into a buffer of the right size. Event values are ~2 KiB (the raw event rides
 * along), so every encode would run twice: growing the scratch buffer to the largest value ingest
 * accepts makes it one pass (about a third of the encoding time). The buffer is process-wide, as
 * avsc's is; `Type.__reset` is avsc's own (untyped) way to size it.
 */
export function sizeAvroScratchBuffer(maxValueBytes: number): void {
  const avsc = createRequire(import.meta.url)('avsc') as { Type: { __reset(size: number): void } };
  avsc.Type.__reset(maxValueBytes);
}
