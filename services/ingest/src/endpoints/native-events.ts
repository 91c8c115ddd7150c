import type { TopicCodec } from '@vigil/kafka';
import { parseNativeEvents, type NormalizedEvent } from '@vigil/sentry-protocol';
import { eventMessages } from '../event-log/event-messages';
import { NATIVE_MEDIA_TYPES, NDJSON_MEDIA_TYPES } from '../http/content-type';
import type { Accepted, IngestEndpoint } from './endpoint';

export interface NativeEventsEndpointOptions {
  codec: TopicCodec<'events'>;
  maxBodyBytes: number;
  maxEventBytes: number;
  /** Most records in one request. */
  maxRecords?: number;
}

/**
 * `POST /api/{project_id}/events/`: Vigil's native events — one JSON object, an array, or NDJSON
 * (`application/x-ndjson` and friends force NDJSON; otherwise the body decides). All records are
 * valid or none is written: a bad one is a 400 naming the record and field. The 200 answers the
 * first id as `id`, and every id in order as `ids` when there are several.
 */
export function nativeEventsEndpoint(o: NativeEventsEndpointOptions): IngestEndpoint<NormalizedEvent[]> {
  return {
    name: 'events',
    category: 'native',
    maxBodyBytes: o.maxBodyBytes,
    credentialInBody: false,
    acceptsContentType: (mediaType) => NATIVE_MEDIA_TYPES.has(mediaType),
    parse: (body, ctx) =>
      parseNativeEvents(
        body,
        { projectId: ctx.projectId, receivedAtMs: ctx.receivedAtMs, clientIp: ctx.clientIp },
        {
          format: NDJSON_MEDIA_TYPES.has(ctx.mediaType) ? 'ndjson' : 'auto',
          maxEventBytes: o.maxEventBytes,
          maxRecords: o.maxRecords ?? 1000,
        },
      ),
    accept(events: NormalizedEvent[]): Accepted {
      const ids = events.map((e) => e.event_id);
      return {
        quantity: events.length,
        accepted: [{ category: 'native', quantity: events.length }],
        dropped: [],
        clientDiscards: [],
        topic: o.codec.topic,
        encode() {
          return eventMessages(o.codec, events);
        },
        body: ids.length === 1 ? { id: ids[0] } : { id: ids[0], ids },
      };
    },
  };
}
