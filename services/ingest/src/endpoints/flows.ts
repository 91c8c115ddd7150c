import { FLOW_CONTENT_TYPES, type FlowBodyDecoder } from '@vigil/flow-publisher';
import { frameFlowBody } from '@vigil/flow-publisher';
import { ProtocolError } from '@vigil/sentry-protocol';
import type { Accepted, IngestEndpoint } from './endpoint';

export interface FlowsEndpointOptions {
  /** Remembers templates per (DSN key, observation domain); shared by every request. */
  bodies: FlowBodyDecoder;
  topic: string;
  maxBodyBytes: number;
}

const MEDIA_TYPES: ReadonlySet<string> = new Set(FLOW_CONTENT_TYPES);

/**
 * `POST /api/{project_id}/flows/`: NetFlow/IPFIX export authenticated by DSN key, as the event
 * endpoints are. `application/ipfix` (IPFIX messages back to back) or `application/x-netflow`
 * (datagrams each prefixed by a 2-byte length); decoded by the collector's decoder, templates
 * remembered per key and observation domain. All or nothing: a malformed message is 400
 * `invalid_flow_body`, data whose template the key has not sent is 422 `missing_template` naming the
 * template ids; nothing of such a body is written. The 200 (`{"accepted": flows}`) comes only after
 * Kafka acknowledged every flow. Each export message (datagram) counts once against the key's rate
 * limit, whatever number of flows it carries. The sender's address is recorded as the exporter.
 */
export function flowsEndpoint(o: FlowsEndpointOptions): IngestEndpoint<Buffer[]> {
  return {
    name: 'flows',
    category: 'flow',
    maxBodyBytes: o.maxBodyBytes,
    credentialInBody: false,
    acceptsContentType: (mediaType) => MEDIA_TYPES.has(mediaType),
    parse(body, ctx) {
      const framed = frameFlowBody(ctx.mediaType, body);
      if (framed.ok) return framed.datagrams;
      if (framed.code === 'empty_body') throw new ProtocolError('empty_body', framed.detail);
      if (framed.code === 'unsupported_media_type') throw new ProtocolError('unsupported_content_type', framed.detail);
      throw new ProtocolError('invalid_flow_body', framed.detail);
    },
    accept(datagrams, ctx): Accepted {
      const decoded = o.bodies.decode(datagrams, {
        projectId: ctx.projectId,
        publicKey: ctx.auth.publicKey,
        exporter: ctx.clientIp ?? '0.0.0.0',
        receivedAtMs: ctx.receivedAtMs,
      });
      if (!decoded.ok) {
        if (decoded.code === 'missing_template') {
          throw new ProtocolError('missing_template', decoded.detail, {
            issues: decoded.missing.map((m) => ({
              field: `observation_domain=${m.observation_domain},template_id=${m.template_id}`,
              message: `template ${m.template_id} of observation domain ${m.observation_domain} has not been sent with this key`,
            })),
          });
        }
        throw new ProtocolError('invalid_flow_body', decoded.detail, { issues: [{ record: decoded.index, message: decoded.reason }] });
      }
      const { messages, dropped } = decoded;
      const body: Record<string, unknown> = { accepted: messages.length };
      if (Object.keys(dropped).length > 0) body.dropped = dropped;
      return {
        quantity: decoded.datagrams,
        accepted: [{ category: 'flow', quantity: messages.length }],
        dropped: [],
        clientDiscards: [],
        topic: o.topic,
        async encode() {
          return { messages, bytes: messages.reduce((n, m) => n + (m.value as Buffer).length + 32, 0) };
        },
        body,
      };
    },
  };
}
