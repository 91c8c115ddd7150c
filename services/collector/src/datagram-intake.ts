/**
 * What happens to one datagram (UDP) or IPFIX message (TCP): attribute it to a project by source
 * address and observation domain — before decoding, so unregistered senders cannot fill template or
 * pending-data state — then decode, turn the flows into Kafka messages and queue them. Never throws;
 * every datagram and flow that does not reach the queue is counted with its reason.
 */
import type { FlowDecoder } from '@vigil/flow-decoder';
import type { FlowMessageBuilder, FlowPublisher } from '@vigil/flow-publisher';
import type { Logger } from '@vigil/logging';
import type { CollectorMetrics, Transport } from './collector-metrics';
import type { ExporterRegistry } from './exporter-registry';

/**
 * The observation domain in a datagram's header, as the decoder reports it: v5
 * `engine_type << 8 | engine_id`, v9 source id, IPFIX observation domain id. Null when the header is
 * too short or of an unknown version.
 */
export function peekObservationDomain(d: Buffer): number | null {
  if (d.length < 2) return null;
  switch (d.readUInt16BE(0)) {
    case 5:
      return d.length >= 24 ? (d[20]! << 8) | d[21]! : null;
    case 9:
      return d.length >= 20 ? d.readUInt32BE(16) : null;
    case 10:
      return d.length >= 16 ? d.readUInt32BE(12) : null;
    default:
      return null;
  }
}

export interface DatagramIntakeOptions {
  transport: Transport;
  decoder: FlowDecoder;
  exporters: ExporterRegistry;
  messages: FlowMessageBuilder;
  publisher: FlowPublisher;
  metrics: CollectorMetrics;
  logger: Logger;
}

/** How often one unregistered source is logged at most. */
const UNREGISTERED_LOG_INTERVAL_MS = 10 * 60_000;

export class DatagramIntake {
  private readonly received;
  private readonly decoded;
  private readonly unregisteredLogged = new Map<string, number>();

  constructor(private readonly o: DatagramIntakeOptions) {
    this.received = o.metrics.datagrams.labels(o.transport);
    this.decoded = o.metrics.flows.labels(o.transport);
  }

  /**
   * `source`: canonical exporter IP text; `scopeKey`: the decoder's template scope (address and port
   * for UDP, the connection for TCP).
   */
  handle(datagram: Buffer, source: string, scopeKey: string, nowMs: number): void {
    const o = this.o;
    this.received.inc();
    const domain = peekObservationDomain(datagram);
    const attribution = o.exporters.resolve(source, domain);
    if (!attribution.ok) {
      o.metrics.datagramsDropped.inc({ transport: o.transport, reason: attribution.reason });
      this.logUnregistered(source, domain, attribution.reason);
      return;
    }
    const result = o.decoder.decode(datagram, scopeKey, nowMs);
    if (result.rejected !== null) {
      o.metrics.datagramsDropped.inc({ transport: o.transport, reason: result.rejected });
      return;
    }
    const flows = result.flows;
    if (flows.length === 0) return;
    this.decoded.inc(flows.length);
    const { messages, outOfRange } = o.messages.build(flows, { projectId: attribution.projectId, exporter: source, receivedAtMs: nowMs });
    if (outOfRange > 0) o.metrics.flowsDropped.inc({ reason: 'out_of_range' }, outOfRange);
    if (!o.publisher.offer(messages)) o.metrics.flowsDropped.inc({ reason: 'queue_full' }, messages.length);
  }

  private logUnregistered(source: string, domain: number | null, reason: string): void {
    const now = Date.now();
    const key = `${source}/${domain}`;
    const last = this.unregisteredLogged.get(key);
    if (last !== undefined && now - last < UNREGISTERED_LOG_INTERVAL_MS) return;
    if (this.unregisteredLogged.size >= 1_000) this.unregisteredLogged.clear();
    this.unregisteredLogged.set(key, now);
    this.o.logger.warn(
      { exporter: source, observation_domain: domain, reason, transport: this.o.transport },
      'flows from an exporter that is not registered are dropped; register its address (and domain) for a project in the exporters table',
    );
  }
}
