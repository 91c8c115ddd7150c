/**
 * The ceiling for one Node process: a bare `node:http` server that reads each request body and
 * answers 200 with a small JSON body, nothing else. Run as its own process by the benchmark.
 *
 * Run: node bench/ingest/bare-server.ts <port>   (plain JavaScript semantics; tsx not required)
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 0);
const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    const body = '{"id":"00000000000000000000000000000000"}';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
  });
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
