/**
 * A UDP listener for NetFlow v5, v9 and IPFIX (any version on any port). Exporters send in bursts at
 * the end of each export interval, so the socket asks the kernel for a large receive buffer (Linux caps
 * it at net.core.rmem_max; the granted size is logged and exported as a metric so an operator can
 * raise the cap with `sysctl -w net.core.rmem_max=…`).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { ListenAddr } from '@vigil/config';
import type { Logger } from '@vigil/logging';

export interface UdpListener {
  readonly socket: Socket;
  /** The bound address (the real port when 0 was asked for). */
  readonly address: ListenAddr;
  /** Receive buffer granted by the kernel, bytes. */
  readonly receiveBufferBytes: number;
  close(): Promise<void>;
}

export async function startUdpListener(
  addr: ListenAddr,
  options: { receiveBufferBytes: number; logger: Logger; onDatagram(msg: Buffer, rinfo: RemoteInfo): void },
): Promise<UdpListener> {
  const v6 = addr.host.includes(':');
  const socket = createSocket({ type: v6 ? 'udp6' : 'udp4' });
  socket.on('message', options.onDatagram);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(addr.port, addr.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => options.logger.error({ err, listener: `${addr.host}:${addr.port}` }, 'UDP socket error'));
  try {
    socket.setRecvBufferSize(options.receiveBufferBytes);
  } catch (err) {
    options.logger.warn({ err }, 'could not set the UDP receive buffer size');
  }
  // Linux reports twice the size it accounts for (bookkeeping overhead); what counts is that report.
  const granted = socket.getRecvBufferSize();
  const bound = socket.address();
  const address = { host: bound.address, port: bound.port };
  if (granted < options.receiveBufferBytes) {
    options.logger.warn(
      { listener: `${address.host}:${address.port}`, requested: options.receiveBufferBytes, granted },
      'the kernel granted a smaller UDP receive buffer than requested; bursts may overflow it (raise net.core.rmem_max)',
    );
  }
  return {
    socket,
    address,
    receiveBufferBytes: granted,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
