/**
 * IPFIX over TCP (RFC 7011 §10.4). Each connection has its own stream framer and its own template
 * scope: templates live exactly as long as the connection (no TTL) and are forgotten when it closes,
 * so a reconnecting exporter that reuses template ids with new layouts is never misread. A source that
 * no registration covers is disconnected at once; bytes that are not IPFIX message headers close the
 * connection (RFC 7011 §10.4.1: the collector should not try to resynchronise a TCP stream). When
 * Kafka falls behind, connections stop being read until the queue drains — TCP pushes back on the
 * exporter instead of dropping flows.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { ListenAddr } from '@vigil/config';
import { createIpfixStreamFramer, type FlowDecoder } from '@vigil/flow-decoder';
import type { FlowPublisher } from '@vigil/flow-publisher';
import type { Logger } from '@vigil/logging';
import { canonicalSource } from './address-prefix';
import type { CollectorMetrics } from './collector-metrics';
import type { DatagramIntake } from './datagram-intake';
import type { ExporterRegistry } from './exporter-registry';

export interface TcpListenerOptions {
  intake: DatagramIntake;
  decoder: FlowDecoder;
  exporters: ExporterRegistry;
  publisher: FlowPublisher;
  metrics: CollectorMetrics;
  logger: Logger;
  /** Stop reading connections while more flows than this wait for Kafka. */
  pauseAboveQueued: number;
}

export interface TcpListener {
  readonly server: Server;
  readonly address: ListenAddr;
  /** Stops accepting, closes every connection (what was received is already queued). */
  close(): Promise<void>;
}

type CloseReason = 'end' | 'unregistered_exporter' | 'framing_error' | 'socket_error' | 'shutdown';

export async function startTcpListener(addr: ListenAddr, o: TcpListenerOptions): Promise<TcpListener> {
  /** Open connections and how to close each with a reason. */
  const sockets = new Map<Socket, (why: CloseReason) => void>();
  const paused = new Set<Socket>();
  let serial = 0;
  let resumeTimer: NodeJS.Timeout | null = null;

  const resumeWhenDrained = (): void => {
    if (resumeTimer !== null) return;
    resumeTimer = setInterval(() => {
      if (o.publisher.pending > o.pauseAboveQueued / 2) return;
      for (const s of paused) s.resume();
      paused.clear();
      clearInterval(resumeTimer!);
      resumeTimer = null;
    }, 20);
  };

  const server = createServer((socket) => {
    const source = canonicalSource(socket.remoteAddress ?? '');
    let reason: CloseReason = 'end';
    const close = (why: CloseReason): void => {
      reason = why;
      socket.destroy();
    };
    if (!o.exporters.covers(source)) {
      o.metrics.tcpClosed.inc({ reason: 'unregistered_exporter' });
      o.logger.warn({ exporter: source, transport: 'tcp' }, 'IPFIX connection from an exporter that is not registered closed');
      socket.destroy();
      return;
    }
    const scopeKey = `tcp:${source}:${socket.remotePort}#${++serial}`;
    const framer = createIpfixStreamFramer({ onGarbage: 'reject' });
    sockets.set(socket, close);
    o.metrics.tcpConnections.inc();
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk: Buffer) => {
      const out = framer.push(chunk);
      const now = Date.now();
      for (const message of out.messages) o.intake.handle(message, source, scopeKey, now);
      if (out.error !== null) {
        o.logger.warn({ exporter: source, transport: 'tcp' }, 'IPFIX connection closed: bytes that are not an IPFIX message');
        close('framing_error');
        return;
      }
      if (o.publisher.pending > o.pauseAboveQueued) {
        socket.pause();
        paused.add(socket);
        resumeWhenDrained();
      }
    });
    socket.on('error', (err) => {
      o.logger.debug({ err, exporter: source }, 'IPFIX connection error');
      reason = reason === 'end' ? 'socket_error' : reason;
    });
    socket.on('close', () => {
      const { truncatedBytes } = framer.end();
      if (truncatedBytes > 0) o.metrics.tcpSkippedBytes.inc(truncatedBytes);
      o.decoder.dropScope(scopeKey);
      sockets.delete(socket);
      paused.delete(socket);
      o.metrics.tcpConnections.dec();
      o.metrics.tcpClosed.inc({ reason });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => o.logger.error({ err }, 'IPFIX TCP server error'));
  const bound = server.address();
  const address = typeof bound === 'object' && bound !== null ? { host: bound.address, port: bound.port } : addr;

  return {
    server,
    address,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const close of sockets.values()) close('shutdown');
      if (resumeTimer !== null) clearInterval(resumeTimer);
      await closed;
    },
  };
}
