/**
 * DSN-authenticated flow ingest: the body of `POST /api/{project_id}/flows/` after ingest has
 * authenticated the key (as for events) and read the body within its size limit.
 *
 * - `application/ipfix`: IPFIX messages back to back (RFC 7011 framing, as over TCP);
 *   `application/x-netflow`: NetFlow v5/v9 (or IPFIX) datagrams, each prefixed by a 2-byte length.
 * - Templates are remembered per (DSN key, observation domain) for the template TTL, across requests.
 * - All or nothing: a body with a malformed message (400) or with data whose template this key has not
 *   sent (422, naming the template ids) writes no flow, so a sender that resends templates and data
 *   never duplicates the part that was decodable. Templates in such a body are still learned.
 * - 200 only once Kafka acknowledged every flow of the body (acks=all); 503 with Retry-After otherwise.
 */
import { createFlowDecoder, parseNetflowBody, splitIpfixMessages, type DecodedFlow, type FlowDecoderOptions } from '@vigil/flow-decoder';
import { Counter, Gauge, type Registry } from '@vigil/service-runtime';
import type { FlowMessageBuilder } from './flow-messages';
import type { FlowPublisher } from './flow-publisher';
import { outcome, type HttpFlowOutcome, type HttpFlowResponse } from './http-flow-outcomes';

export const FLOW_CONTENT_TYPES = ['application/ipfix', 'application/x-netflow'] as const;

export interface HttpFlowRequest {
  projectId: number;
  /** The DSN public key that authenticated the request; templates are remembered per key. */
  publicKey: string;
  /** The Content-Type header as sent (parameters allowed). */
  contentType: string | undefined;
  body: Buffer;
  /** The sender's address as ingest determined it; recorded as each flow's exporter. */
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
  const templateTtlMs = o.templateTtlMs ?? 90 * 60_000;
  const retryAfter = String(o.retryAfterSeconds ?? 5);
  const decoder = createFlowDecoder({ ...o.decoder, templateTtlMs });
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
      this.set(decoder.stats().templates.active);
    },
  });
  const timer = setInterval(() => decoder.expire(Date.now()), 10_000);
  timer.unref();

  const answer = (r: HttpFlowResponse): HttpFlowResponse => {
    requests.inc({ outcome: r.outcome });
    return r;
  };
  const fail = (code: HttpFlowOutcome, detail: string, extra?: Record<string, unknown>, headers?: Record<string, string>) =>
    answer(outcome(code, detail, extra, headers));

  return {
    async handle(req) {
      const type = mediaType(req.contentType);
      let datagrams: Buffer[];
      if (type === 'application/ipfix') {
        const split = splitIpfixMessages(req.body, { onGarbage: 'reject' });
        const at = req.body.length - split.truncatedBytes;
        if (split.error !== null) return fail('malformed_body', 'bytes that are not an IPFIX message header (version 10, length ≥ 16)', { offset: split.messages.reduce((n, m) => n + m.length, 0) });
        if (split.truncatedBytes > 0) return fail('malformed_body', `the last IPFIX message is truncated (${split.truncatedBytes} bytes at offset ${at})`, { offset: at });
        datagrams = split.messages;
      } else if (type === 'application/x-netflow') {
        const parsed = parseNetflowBody(req.body, { maxDatagrams: o.maxDatagrams ?? 100_000 });
        if (parsed.error !== null) {
          const why = { zero_length: 'a datagram length of 0', truncated: 'a datagram longer than the rest of the body', too_many_datagrams: 'more datagrams than allowed in one body' }[parsed.error];
          return fail('malformed_body', `${why} at offset ${parsed.offset}; expected datagrams each prefixed by a 2-byte big-endian length`, { offset: parsed.offset });
        }
        datagrams = parsed.datagrams;
      } else {
        return fail('unsupported_media_type', `Content-Type ${type || '(none)'} is not supported; send ${FLOW_CONTENT_TYPES.join(' or ')}`, { accepted_types: [...FLOW_CONTENT_TYPES] });
      }
      if (datagrams.length === 0) return fail('empty_body', 'the body holds no IPFIX message or NetFlow datagram');

      const now = req.receivedAtMs ?? Date.now();
      const scope = `dsn:${req.publicKey}`;
      const flows: DecodedFlow[] = [];
      const missing = new Map<string, { observation_domain: number; template_id: number }>();
      const dropped: Record<string, number> = {};
      for (let i = 0; i < datagrams.length; i++) {
        const r = decoder.decode(datagrams[i]!, scope, now, 'report-missing');
        if (r.rejected !== null) {
          return fail('invalid_datagram', `message ${i} of the body was refused: ${r.rejected}; nothing was written`, { index: i, reason: r.rejected });
        }
        for (const id of r.missingTemplates) {
          const domain = r.observationDomain ?? 0;
          missing.set(`${domain}/${id}`, { observation_domain: domain, template_id: id });
        }
        for (const f of r.flows) flows.push(f);
        for (const [reason, n] of Object.entries(r.drops)) {
          if (reason !== 'missing_template' && n) dropped[reason] = (dropped[reason] ?? 0) + n;
        }
      }
      if (missing.size > 0) {
        const list = [...missing.values()];
        const names = list.map((m) => `${m.template_id} (observation domain ${m.observation_domain})`).join(', ');
        return fail(
          'missing_template',
          `data for template ${names} arrived before the template; nothing was written: send the templates with the data (they are remembered for ${Math.round(templateTtlMs / 60_000)} minutes per key)`,
          { missing_templates: list },
        );
      }

      const { messages, outOfRange } = o.messages.build(flows, { projectId: req.projectId, exporter: req.exporter, receivedAtMs: now });
      if (outOfRange > 0) dropped.out_of_range = outOfRange;
      const acked = o.publisher.publish(messages);
      if (acked === null) return fail('overloaded', 'the flow queue is full; retry later', {}, { 'retry-after': retryAfter });
      try {
        await acked;
      } catch {
        return fail('kafka_unavailable', 'Kafka did not acknowledge the flows; retry later', {}, { 'retry-after': retryAfter });
      }
      for (const [reason, n] of Object.entries(dropped)) recordsDropped.inc({ reason }, n);
      flowsAccepted.inc(messages.length);
      const body: Record<string, unknown> = { accepted: messages.length };
      if (Object.keys(dropped).length > 0) body.dropped = dropped;
      return answer({ status: 200, outcome: 'accepted', body, headers: {} });
    },
    close() {
      clearInterval(timer);
    },
  };
}
