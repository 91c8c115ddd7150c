/**
 * The body of `POST /api/{project_id}/flows/`, in two steps that fit any HTTP host:
 *
 * 1. `frameFlowBody` (before or after authentication): `application/ipfix` is IPFIX messages back to
 *    back (RFC 7011 framing, as over TCP); `application/x-netflow` is NetFlow v5/v9 (or IPFIX)
 *    datagrams each prefixed by a 2-byte length.
 * 2. `FlowBodyDecoder.decode` (after authentication, it needs the key): templates are remembered per
 *    (DSN key, observation domain) for the template TTL (ingest's `VIGIL_INGEST_FLOW_TEMPLATE_TTL`),
 *    across requests, measured on each request's `receivedAtMs`. All or nothing: a malformed
 *    message, or data whose template this key has not sent, yields no messages at all, so a sender
 *    that resends templates and data never duplicates the part that was decodable. Templates in such
 *    a body are still learned.
 */
import { createFlowDecoder, parseNetflowBody, splitIpfixMessages, type DecodedFlow, type FlowDecoder, type FlowDecoderOptions } from '@vigil/flow-decoder';
import type { Message } from 'kafkajs';
import type { FlowMessageBuilder } from './flow-messages';

export const FLOW_CONTENT_TYPES = ['application/ipfix', 'application/x-netflow'] as const;

export type FramedBody =
  | { ok: true; datagrams: Buffer[] }
  | { ok: false; code: 'unsupported_media_type' | 'empty_body' | 'malformed_body'; detail: string; offset?: number };

/** `mediaType`: lower-case, without parameters. */
export function frameFlowBody(mediaType: string, body: Buffer, options: { maxDatagrams?: number } = {}): FramedBody {
  let datagrams: Buffer[];
  if (mediaType === 'application/ipfix') {
    const split = splitIpfixMessages(body, { onGarbage: 'reject' });
    const framed = split.messages.reduce((n, m) => n + m.length, 0);
    if (split.error !== null) return { ok: false, code: 'malformed_body', detail: `bytes at offset ${framed} are not an IPFIX message header (version 10, length ≥ 16)`, offset: framed };
    if (split.truncatedBytes > 0) return { ok: false, code: 'malformed_body', detail: `the last IPFIX message is truncated (${split.truncatedBytes} bytes at offset ${framed})`, offset: framed };
    datagrams = split.messages;
  } else if (mediaType === 'application/x-netflow') {
    const parsed = parseNetflowBody(body, { maxDatagrams: options.maxDatagrams ?? 100_000 });
    if (parsed.error !== null) {
      const why = { zero_length: 'a datagram length of 0', truncated: 'a datagram longer than the rest of the body', too_many_datagrams: 'more datagrams than allowed in one body' }[parsed.error];
      return { ok: false, code: 'malformed_body', detail: `${why} at offset ${parsed.offset}; expected datagrams each prefixed by a 2-byte big-endian length`, offset: parsed.offset };
    }
    datagrams = parsed.datagrams;
  } else {
    return { ok: false, code: 'unsupported_media_type', detail: `Content-Type ${mediaType || '(none)'} is not supported; send ${FLOW_CONTENT_TYPES.join(' or ')}` };
  }
  if (datagrams.length === 0) return { ok: false, code: 'empty_body', detail: 'the body holds no IPFIX message or NetFlow datagram' };
  return { ok: true, datagrams };
}

export interface MissingTemplate {
  observation_domain: number;
  template_id: number;
}

export interface FlowBodyContext {
  projectId: number;
  /** The DSN public key that authenticated the request; templates are remembered per key. */
  publicKey: string;
  /** The sender's address as the host determined it; recorded as each flow's exporter. */
  exporter: string;
  receivedAtMs: number;
}

export type DecodedBody =
  | { ok: true; messages: Message[]; datagrams: number; dropped: Record<string, number> }
  | { ok: false; code: 'invalid_datagram'; detail: string; index: number; reason: string }
  | { ok: false; code: 'missing_template'; detail: string; missing: MissingTemplate[] };

/** `90 minutes`, `30 seconds`: how long templates are remembered, for the sender. */
function spell(ms: number): string {
  const [n, unit] = ms >= 60_000 ? [Math.round(ms / 60_000), 'minute'] : [Math.round(ms / 1000), 'second'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

export class FlowBodyDecoder {
  /** Templates not resent for this long are no longer used: data needing them is a missing template. */
  readonly templateTtlMs: number;
  private readonly decoder: FlowDecoder;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly messages: FlowMessageBuilder,
    options: Omit<FlowDecoderOptions, 'templateTtlMs'> & { templateTtlMs?: number } = {},
  ) {
    this.templateTtlMs = options.templateTtlMs ?? 90 * 60_000;
    this.decoder = createFlowDecoder({ ...options, templateTtlMs: this.templateTtlMs });
    this.timer = setInterval(() => this.decoder.expire(Date.now()), 10_000);
    this.timer.unref();
  }

  /** Templates remembered for all keys. */
  templates(): number {
    return this.decoder.stats().templates.active;
  }

  decode(datagrams: readonly Buffer[], ctx: FlowBodyContext): DecodedBody {
    const scope = `dsn:${ctx.publicKey}`;
    const flows: DecodedFlow[] = [];
    const missing = new Map<string, MissingTemplate>();
    const dropped: Record<string, number> = {};
    for (let i = 0; i < datagrams.length; i++) {
      const r = this.decoder.decode(datagrams[i]!, scope, ctx.receivedAtMs, 'report-missing');
      if (r.rejected !== null) {
        return { ok: false, code: 'invalid_datagram', detail: `message ${i} of the body was refused: ${r.rejected}; nothing was written`, index: i, reason: r.rejected };
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
      return {
        ok: false,
        code: 'missing_template',
        detail: `data for template ${names} arrived without the template (not sent on this key, or not within its lifetime); nothing was written: send the templates with the data (they are remembered for ${spell(this.templateTtlMs)} per key)`,
        missing: list,
      };
    }
    const built = this.messages.build(flows, { projectId: ctx.projectId, exporter: ctx.exporter, receivedAtMs: ctx.receivedAtMs });
    if (built.outOfRange > 0) dropped.out_of_range = built.outOfRange;
    return { ok: true, messages: built.messages, datagrams: datagrams.length, dropped };
  }

  close(): void {
    clearInterval(this.timer);
  }
}
