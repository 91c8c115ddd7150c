import type { TopicCodec } from '@vigil/kafka';
import { decodeStoreBody, normalizeSentryEvent } from '@vigil/sentry-protocol';
import { eventMessages } from '../event-log/event-messages';
import { STORE_MEDIA_TYPES } from '../http/content-type';
import type { Accepted, AuthenticatedContext, IngestEndpoint } from './endpoint';

export interface StoreEndpointOptions {
  codec: TopicCodec<'events'>;
  maxEventBytes: number;
}

/**
 * `POST /api/{project_id}/store/`: one Sentry event as JSON, base64 JSON or base64 zlib JSON (old
 * SDKs). The body may be base64, a third larger than the event it carries, so it is read up to
 * twice the event bound; the decoded event is held to the bound itself.
 */
export function storeEndpoint(o: StoreEndpointOptions): IngestEndpoint<Buffer> {
  return {
    name: 'store',
    category: 'error',
    maxBodyBytes: o.maxEventBytes * 2,
    credentialInBody: false,
    acceptsContentType: (mediaType) => STORE_MEDIA_TYPES.has(mediaType),
    parse: (body) => decodeStoreBody(body, { maxEventBytes: o.maxEventBytes }),
    accept(json: Buffer, ctx: AuthenticatedContext): Accepted {
      const event = normalizeSentryEvent(json, {
        projectId: ctx.projectId,
        receivedAtMs: ctx.receivedAtMs,
        clientIp: ctx.clientIp,
        itemType: 'event',
        auth: ctx.auth,
      });
      return {
        quantity: 1,
        accepted: [{ category: event.type === 'transaction' ? 'transaction' : 'error', quantity: 1 }],
        dropped: [],
        clientDiscards: [],
        topic: o.codec.topic,
        encode() {
          return eventMessages(o.codec, [event]);
        },
        body: { id: event.event_id },
      };
    },
  };
}
