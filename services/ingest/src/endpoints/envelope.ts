import type { TopicCodec } from '@vigil/kafka';
import {
  EVENT_ITEM_TYPES,
  isProtocolError,
  normalizeSentryEvent,
  parseEnvelope,
  ProtocolError,
  type DataCategory,
  type Envelope,
  type NormalizedEvent,
} from '@vigil/sentry-protocol';
import { eventMessages } from '../event-log/event-messages';
import { ENVELOPE_MEDIA_TYPES } from '../http/content-type';
import type { IngestMetrics } from '../outcomes/ingest-metrics';
import { clientDiscards } from './client-reports';
import type { Accepted, AuthenticatedContext, IngestEndpoint, ItemCount, ItemDrop } from './endpoint';

export interface EnvelopeEndpointOptions {
  codec: TopicCodec<'events'>;
  maxEnvelopeBytes: number;
  maxEventBytes: number;
  metrics: IngestMetrics;
}

/**
 * `POST /api/{project_id}/envelope/`. `event` and `transaction` items become events; attachments
 * are dropped (`attachment_dropped`); client reports are read for what the SDK dropped itself;
 * other known items (sessions, check-ins, profiles…) are accepted and counted but not stored;
 * unknown item types are skipped (`unknown_item_type`). Unlike Relay, which answers before it
 * looks inside items, Vigil normalizes before answering: an event item that is not valid JSON
 * fails the request with 400 naming the item, and nothing of it is written.
 */
export function envelopeEndpoint(o: EnvelopeEndpointOptions): IngestEndpoint<Envelope> {
  const limits = { maxEnvelopeBytes: o.maxEnvelopeBytes, maxEventBytes: o.maxEventBytes };
  return {
    name: 'envelope',
    category: 'error',
    maxBodyBytes: o.maxEnvelopeBytes,
    credentialInBody: true,
    acceptsContentType: (mediaType) => ENVELOPE_MEDIA_TYPES.has(mediaType),
    parse: (body) => parseEnvelope(body, limits),
    bodyCredential: (envelope) => envelope.header.dsn,
    accept(envelope: Envelope, ctx: AuthenticatedContext): Accepted {
      const events: NormalizedEvent[] = [];
      const accepted = new Map<DataCategory, number>();
      const dropped: ItemDrop[] = [];
      const discards: Accepted['clientDiscards'] = [];
      // A plain loop, no closures: this runs for every request.
      const items = envelope.items;
      for (let index = 0; index < items.length; index++) {
        const item = items[index] as Envelope['items'][number];
        o.metrics.itemType(item.known ? item.type : 'unknown');
        if (EVENT_ITEM_TYPES.has(item.type)) {
          events.push(normalizeItem(item.payload, item.type, index, envelope, ctx));
          accepted.set(item.category, (accepted.get(item.category) ?? 0) + 1);
        } else if (!item.known) {
          dropped.push({ reason: 'unknown_item_type', category: 'unknown', quantity: 1 });
        } else if (item.category === 'attachment') {
          dropped.push({ reason: 'attachment_dropped', category: 'attachment', quantity: 1 });
        } else {
          if (item.type === 'client_report') discards.push(...clientDiscards(item.payload));
          accepted.set(item.category, (accepted.get(item.category) ?? 0) + 1);
        }
      }
      const id = envelope.header.event_id ?? events[0]?.event_id ?? null;
      const counts: ItemCount[] = [];
      for (const [category, quantity] of accepted) counts.push({ category, quantity });
      return {
        quantity: events.length,
        accepted: counts,
        dropped,
        clientDiscards: discards,
        topic: o.codec.topic,
        encode() {
          return eventMessages(o.codec, events);
        },
        body: id === null ? {} : { id },
      };
    },
  };
}

function normalizeItem(payload: Buffer, itemType: string, index: number, envelope: Envelope, ctx: AuthenticatedContext): NormalizedEvent {
  try {
    return normalizeSentryEvent(payload, {
      projectId: ctx.projectId,
      receivedAtMs: ctx.receivedAtMs,
      clientIp: ctx.clientIp,
      itemType,
      envelope: envelope.header,
      auth: ctx.auth,
    });
  } catch (error) {
    if (!isProtocolError(error)) throw error;
    throw new ProtocolError(error.reason, `item ${index} (${itemType}): ${error.message}`, { ...error.details, itemType }, { cause: error.cause });
  }
}
