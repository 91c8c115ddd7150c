/**
 * The collector's metrics, all in one place (docs/flows.md lists them). Every datagram received ends
 * in exactly one of: dropped (with a reason) or decoded; every decoded flow in exactly one of: dropped
 * (with a reason) or published. The decoder's own counters (templates, pending data, sequence loss,
 * drops of sets, templates and records) are exported from its stats on each scrape.
 */
import { DROP_REASONS, type DecoderStats, type FlowDecoder } from '@vigil/flow-decoder';
import { Counter, Gauge, Histogram, type Registry } from '@vigil/service-runtime';

export type Transport = 'udp' | 'tcp';

/** Datagram-level refusals decided by the collector (the decoder's are listed in DROP_REASONS). */
export const COLLECTOR_DATAGRAM_DROPS = {
  unregistered_exporter: 'source address is not registered for any project',
  unregistered_domain: 'source is registered, but not for this observation domain',
} as const;

/** Flow-level losses after decoding. */
export const COLLECTOR_FLOW_DROPS = {
  queue_full: 'Kafka could not keep up and the bounded queue was full',
  kafka_error: 'Kafka did not acknowledge the produce request after retries',
  out_of_range: 'a counter or time beyond 2^53, which only corrupt or hostile datagrams carry',
} as const;

/** Gauges read at scrape time. */
export interface CollectorGaugeSources {
  exporterRegistrations(): number;
  pendingFlows(): number;
  /** Per UDP listener (`host:port`): datagrams the kernel dropped for a full receive buffer; null when unknown. */
  kernelDrops(): Array<[listener: string, drops: number | null]>;
}

export function createCollectorMetrics(registry: Registry, sources: CollectorGaugeSources) {
  const registers = [registry];
  return {
    datagrams: new Counter({
      name: 'vigil_collector_datagrams_received_total',
      help: 'Datagrams (UDP) and IPFIX messages (TCP) received',
      labelNames: ['transport'],
      registers,
    }),
    datagramsDropped: new Counter({
      name: 'vigil_collector_datagrams_dropped_total',
      help: 'Datagrams dropped whole, by reason: unregistered_exporter, unregistered_domain, or the decoder refusal',
      labelNames: ['transport', 'reason'],
      registers,
    }),
    flows: new Counter({
      name: 'vigil_collector_flows_decoded_total',
      help: 'Flow records decoded from registered exporters',
      labelNames: ['transport'],
      registers,
    }),
    flowsPublished: new Counter({
      name: 'vigil_collector_flows_published_total',
      help: 'Flow records acknowledged by Kafka (acks=all)',
      registers,
    }),
    flowsDropped: new Counter({
      name: 'vigil_collector_flows_dropped_total',
      help: 'Decoded flow records lost before Kafka acknowledged them, by reason: queue_full, kafka_error, out_of_range',
      labelNames: ['reason'],
      registers,
    }),
    kafkaErrors: new Counter({
      name: 'vigil_collector_kafka_errors_total',
      help: 'Produce requests that failed after the client retried',
      registers,
    }),
    kafkaBatchSeconds: new Histogram({
      name: 'vigil_collector_kafka_request_seconds',
      help: 'Time from sending a produce request to its acknowledgement',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    kafkaBatchMessages: new Histogram({
      name: 'vigil_collector_kafka_request_flows',
      help: 'Flow records per acknowledged produce request',
      buckets: [1, 10, 30, 100, 300, 1000, 3000, 10000],
      registers,
    }),
    queued: new Gauge({
      name: 'vigil_collector_queued_flows',
      help: 'Flow records waiting for Kafka (queued or in flight)',
      registers,
      collect() {
        this.set(sources.pendingFlows());
      },
    }),
    tcpConnections: new Gauge({ name: 'vigil_collector_tcp_connections', help: 'Open IPFIX-over-TCP connections', registers }),
    tcpClosed: new Counter({
      name: 'vigil_collector_tcp_connections_closed_total',
      help: 'IPFIX-over-TCP connections closed, by reason: end, unregistered_exporter, framing_error, socket_error, shutdown',
      labelNames: ['reason'],
      registers,
    }),
    tcpSkippedBytes: new Counter({ name: 'vigil_collector_tcp_truncated_bytes_total', help: 'Bytes of incomplete IPFIX messages left when a TCP connection closed', registers }),
    exporters: new Gauge({
      name: 'vigil_collector_exporter_registrations',
      help: 'Exporter registrations in force',
      registers,
      collect() {
        this.set(sources.exporterRegistrations());
      },
    }),
    exporterReloadErrors: new Counter({ name: 'vigil_collector_exporter_reload_errors_total', help: 'Failed re-reads of the exporters table', registers }),
    udpKernelDrops: new Gauge({
      name: 'vigil_collector_udp_kernel_drops',
      help: 'Datagrams the kernel dropped because a listener receive buffer was full (Linux /proc/net/udp drops; monotonic while the socket lives)',
      labelNames: ['listener'],
      registers,
      collect() {
        for (const [listener, drops] of sources.kernelDrops()) if (drops !== null) this.set({ listener }, drops);
      },
    }),
    udpReceiveBuffer: new Gauge({
      name: 'vigil_collector_udp_receive_buffer_bytes',
      help: 'Socket receive buffer the kernel granted to each UDP listener',
      labelNames: ['listener'],
      registers,
    }),
  };
}

export type CollectorMetrics = ReturnType<typeof createCollectorMetrics>;

/**
 * Exports the decoders' cumulative stats as Prometheus metrics, labelled by transport. Counters are
 * advanced by the difference since the previous scrape.
 */
export function exportDecoderStats(registry: Registry, decoders: Record<Transport, FlowDecoder>): void {
  const registers = [registry];
  const previous = new Map<Transport, DecoderStats>();
  const deltas = new Map<Transport, { now: DecoderStats; before: DecoderStats }>();
  let syncedAt = -Infinity;
  let generation = 0;
  /** One snapshot per scrape (every metric below is collected within milliseconds of the others). */
  const sync = (): void => {
    if (performance.now() - syncedAt < 100) return;
    syncedAt = performance.now();
    generation++;
    for (const [transport, decoder] of Object.entries(decoders) as [Transport, FlowDecoder][]) {
      const now = decoder.stats();
      deltas.set(transport, { now, before: previous.get(transport) ?? emptyLike(now) });
      previous.set(transport, now);
    }
  };
  const counter = (name: string, help: string, labelNames: string[], fn: (c: Counter<string>, t: Transport, now: DecoderStats, before: DecoderStats) => void) => {
    // Each counter advances once per snapshot, however often it is collected.
    let applied = 0;
    return new Counter({
      name,
      help,
      labelNames,
      registers,
      collect(this: Counter<string>) {
        sync();
        if (applied === generation) return;
        applied = generation;
        for (const [t, d] of deltas) fn(this, t, d.now, d.before);
      },
    });
  };
  const gauge = (name: string, help: string, value: (s: DecoderStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['transport'],
      registers,
      collect(this: Gauge<string>) {
        sync();
        for (const [t, d] of deltas) this.set({ transport: t }, value(d.now));
      },
    });
  const inc = (c: Counter<string>, labels: Record<string, string>, delta: number) => {
    if (delta > 0) c.inc(labels, delta);
  };

  counter('vigil_collector_datagrams_decoded_total', 'Datagrams the decoder accepted, by NetFlow/IPFIX version', ['transport', 'version'], (c, t, n, b) => {
    inc(c, { transport: t, version: '5' }, n.datagrams.v5 - b.datagrams.v5);
    inc(c, { transport: t, version: '9' }, n.datagrams.v9 - b.datagrams.v9);
    inc(c, { transport: t, version: '10' }, n.datagrams.ipfix - b.datagrams.ipfix);
  });
  counter('vigil_collector_decoder_drops_total', 'Everything the decoder dropped, by reason and unit (datagram, set, template, record)', ['transport', 'reason', 'unit'], (c, t, n, b) => {
    for (const [reason, spec] of Object.entries(DROP_REASONS)) {
      const key = reason as keyof typeof DROP_REASONS;
      inc(c, { transport: t, reason, unit: spec.unit }, n.drops[key] - b.drops[key]);
    }
  });
  counter('vigil_collector_template_events_total', 'Template records received, added, replaced, withdrawn and expired; layouts compiled', ['transport', 'event'], (c, t, n, b) => {
    for (const event of ['received', 'added', 'replaced', 'withdrawn', 'expired', 'compiled'] as const) {
      inc(c, { transport: t, event }, n.templates[event] - b.templates[event]);
    }
  });
  counter('vigil_collector_sequence_lost_total', 'Sequence-number gaps: lost records (v5, IPFIX) or lost export packets (v9)', ['transport', 'unit'], (c, t, n, b) => {
    inc(c, { transport: t, unit: 'records' }, n.sequence.lostRecords - b.sequence.lostRecords);
    inc(c, { transport: t, unit: 'packets' }, n.sequence.lostPackets - b.sequence.lostPackets);
  });
  counter('vigil_collector_sequence_resets_total', 'Sequence numbers that went backwards (exporter restart or reordering)', ['transport'], (c, t, n, b) => {
    inc(c, { transport: t }, n.sequence.resets - b.sequence.resets);
  });
  counter('vigil_collector_pending_sets_total', 'Data sets that arrived before their template: buffered, released when it came, expired undecoded', ['transport', 'event'], (c, t, n, b) => {
    inc(c, { transport: t, event: 'buffered' }, n.pending.bufferedSets - b.pending.bufferedSets);
    inc(c, { transport: t, event: 'released' }, n.pending.releasedSets - b.pending.releasedSets);
    inc(c, { transport: t, event: 'expired' }, n.pending.expiredSets - b.pending.expiredSets);
  });
  counter('vigil_collector_options_records_total', 'Options data records applied (sampling, system init time)', ['transport'], (c, t, n, b) => {
    inc(c, { transport: t }, n.optionsRecords - b.optionsRecords);
  });
  counter('vigil_collector_timestamps_defaulted_total', 'Flows without usable time fields, stamped with the export time', ['transport'], (c, t, n, b) => {
    inc(c, { transport: t }, n.timestampsDefaulted - b.timestampsDefaulted);
  });
  gauge('vigil_collector_templates', 'Templates held', (s) => s.templates.active);
  gauge('vigil_collector_pending_bytes', 'Bytes of data sets waiting for their template', (s) => s.pending.bytes);
  gauge('vigil_collector_exporter_scopes', 'Exporters (address and port, or TCP connection) with decoder state', (s) => s.scopes);
}

function emptyLike(s: DecoderStats): DecoderStats {
  const zero = (v: unknown): unknown =>
    typeof v === 'number' ? 0 : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, zero(x)])) : v;
  return zero(s) as DecoderStats;
}
