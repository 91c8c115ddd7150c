/**
 * DSN-authenticated flow ingest as a whole handler, for a host that has authenticated the key and read
 * the body: frame, decode (flow-body.ts), publish, and answer — 200 only once Kafka acknowledged every
 * flow of the body (acks=all), 503 with Retry-After otherwise. Ingest plugs the two body steps into
 * its own request pipeline instead (shared auth, quotas, event log and error bodies); this handler is
 * the same logic with the collector's publisher, for other hosts and for the tests of this package.
 */
import type { FlowDecoderOptions } from '@vigil/flow-decoder';
import { Counter, Gauge, type Registry } from '@vigil/service-runtime';
import { FlowBodyDecoder, frameFlowBody } from './flow-body';
import type { FlowMessageBuilder } from './flow-messages';
import type { FlowPublisher } from './flow-publisher';
import { outcome, type HttpFlowOutcome, type HttpFlowResponse } from './http-flow-outcomes';

export interface HttpFlowRequest {
  projectId: number;
  /** The DSN public key that authenticated the request; templates are remembered per key. */
  publicKey: string;
  /** The Content-Type header as sent (parameters allowed). */
  contentType: string | undefined;
  body: Buffer;
  /** The sender's address as the host determined it; recorded as each flow's exporter. */
  exporter: string;
  receivedAtMs?: number;
}

export interface HttpFlowIngestOptions {
  publisher: FlowPublisher;
  messages: FlowMessageBuilder;
  /** How long templates sent on a key are remembered. Default 90 minutes. */
  templateTtlMs?: number;
  /** Datagrams in one `application/x-netflow` body at most. Default 100,000. */
  maxDatagrams?: number;
  /** Seconds a sender is asked to wait after a 503. Default 5. */
  retryAfterSeconds?: number;
  /** Further decoder bounds (keys tracked, templates per key, …). */
  decoder?: Omit<FlowDecoderOptions, 'templateTtlMs'>;
  /** Where the `vigil_ingest_flow_*` metrics are registered. */
  metrics?: Registry;
}

export interface HttpFlowIngest {
  handle(request: HttpFlowRequest): Promise<HttpFlowResponse>;
  /** Stops the template expiry timer. */
  close(): void;
}

function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

export function createHttpFlowIngest(o: HttpFlowIngestOptions): HttpFlowIngest {
  const retryAfter = String(o.retryAfterSeconds ?? 5);
  const bodies = new FlowBodyDecoder(o.messages, { ...o.decoder, templateTtlMs: o.templateTtlMs ?? 90 * 60_000 });
  const registers = o.metrics ? [o.metrics] : [];
  const requests = new Counter({
    name: 'vigil_ingest_flow_requests_total',
    help: 'Flow ingest requests after authentication, by outcome (accepted or the error code)',
    labelNames: ['outcome'],
    registers,
  });
  const flowsAccepted = new Counter({ name: 'vigil_ingest_flows_accepted_total', help: 'Flows acknowledged by Kafka from flow ingest requests', registers });
  const recordsDropped = new Counter({
    name: 'vigil_ingest_flow_records_dropped_total',
    help: 'Parts of accepted flow bodies the decoder dropped, by reason (see docs/flows.md)',
    labelNames: ['reason'],
    registers,
  });
  new Gauge({
    name: 'vigil_ingest_flow_templates',
    help: 'Templates remembered for DSN keys',
    registers,
    collect() {
      this.set(bodies.templates());
    },
  });

  const answer = (r: HttpFlowResponse): HttpFlowResponse => {
    requests.inc({ outcome: r.outcome });
    return r;
  };
  const fail = (code: HttpFlowOutcome, detail: string, extra?: Record<string, unknown>, headers?: Record<string, string>) =>
    answer(outcome(code, detail, extra, headers));

  return {
    async handle(req) {
      const framed = frameFlowBody(mediaType(req.contentType), req.body, o.maxDatagrams === undefined ? {} : { maxDatagrams: o.maxDatagrams });
      if (!framed.ok) {
        const extra: Record<string, unknown> = framed.offset === undefined ? {} : { offset: framed.offset };
        if (framed.code === 'unsupported_media_type') extra.accepted_types = ['application/ipfix', 'application/x-netflow'];
        return fail(framed.code, framed.detail, extra);
      }
      const decoded = bodies.decode(framed.datagrams, {
        projectId: req.projectId,
        publicKey: req.publicKey,
        exporter: req.exporter,
        receivedAtMs: req.receivedAtMs ?? Date.now(),
      });
      if (!decoded.ok) {
        return decoded.code === 'missing_template'
          ? fail('missing_template', decoded.detail, { missing_templates: decoded.missing })
          : fail('invalid_datagram', decoded.detail, { index: decoded.index, reason: decoded.reason });
      }
      const acked = o.publisher.publish(decoded.messages);
      if (acked === null) return fail('overloaded', 'the flow queue is full; retry later', {}, { 'retry-after': retryAfter });
      try {
        await acked;
      } catch {
        return fail('kafka_unavailable', 'Kafka did not acknowledge the flows; retry later', {}, { 'retry-after': retryAfter });
      }
      for (const [reason, n] of Object.entries(decoded.dropped)) recordsDropped.inc({ reason }, n);
      flowsAccepted.inc(decoded.messages.length);
      const body: Record<string, unknown> = { accepted: decoded.messages.length };
      if (Object.keys(decoded.dropped).length > 0) body.dropped = decoded.dropped;
      return answer({ status: 200, outcome: 'accepted', body, headers: {} });
    },
    close() {
      bodies.close();
    },
  };
}
