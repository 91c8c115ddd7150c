/**
 * Puts a recorder between a real exporter and the running collector: the exporter sends to a relay
 * bound on its own loopback address (127.0.1.x), which forwards every datagram (or the TCP byte
 * stream) to the collector at once, from that address, and keeps a copy. The copy is what tshark
 * decodes as the independent check, so both read exactly the bytes the exporter sent; the address
 * is what the collector attributes the flows by.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Runs `exporter(host, port)` against a UDP relay on `from`; resolves with every datagram forwarded. */
export async function relayUdp(from: string, collectorPort: number, exporter: (host: string, port: number) => Promise<void>): Promise<Buffer[]> {
  const sock = createSocket('udp4');
  const copies: Buffer[] = [];
  let inFlight = 0;
  sock.on('message', (msg) => {
    copies.push(Buffer.from(msg));
    inFlight++;
    sock.send(msg, collectorPort, '127.0.0.1', () => inFlight--);
  });
  sock.bind(0, from);
  await once(sock, 'listening');
  try {
    await exporter(from, sock.address().port);
    // Datagrams sent just before the exporter exited may still be in the socket buffer.
    await sleep(300);
    while (inFlight > 0) await sleep(10);
  } finally {
    sock.close();
  }
  return copies;
}

/** Runs `exporter(host, port)` against a TCP relay on `from`; resolves with the bytes of every connection, in order. */
export async function relayTcp(from: string, collectorPort: number, exporter: (host: string, port: number) => Promise<void>): Promise<Buffer[]> {
  const streams: Buffer[][] = [];
  const closed: Promise<unknown>[] = [];
  const server = createServer((downstream: Socket) => {
    const chunks: Buffer[] = [];
    streams.push(chunks);
    const upstream = connect({ host: '127.0.0.1', port: collectorPort, localAddress: from });
    upstream.on('error', () => downstream.destroy());
    downstream.on('error', () => upstream.destroy());
    downstream.on('data', (d: Buffer) => chunks.push(Buffer.from(d)));
    downstream.pipe(upstream);
    upstream.resume();
    closed.push(once(upstream, 'close'));
  });
  server.listen(0, from);
  await once(server, 'listening');
  try {
    await exporter(from, (server.address() as AddressInfo).port);
    await sleep(300);
    await Promise.all(closed);
  } finally {
    server.close();
  }
  return streams.map((chunks) => Buffer.concat(chunks));
}
