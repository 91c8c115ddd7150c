import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '@vigil/logging';
import { ApiError } from './error-catalog';

/**
 * Streams items as NDJSON, one JSON object per line, pulling the next item only when the socket has
 * drained (the source reads the database in keyset batches, so memory stays flat whatever the export's
 * size). A failure after the first byte cannot change the status any more: the stream then ends with a
 * last line `{"error": {...}}`, so a client can tell a cut export from a complete one (which ends with
 * a newline after its last item and no error line).
 */
export function streamNdjson(request: FastifyRequest, reply: FastifyReply, items: AsyncIterable<unknown>, log: Logger): FastifyReply {
  async function* lines(): AsyncGenerator<string> {
    let batch = '';
    try {
      for await (const item of items) {
        batch += JSON.stringify(item) + '\n';
        if (batch.length >= 64 * 1024) {
          yield batch;
          batch = '';
        }
      }
      if (batch) yield batch;
    } catch (err) {
      const code = err instanceof ApiError ? err.code : 'internal_error';
      log.error({ err, request_id: request.id }, 'export failed while streaming');
      yield batch + JSON.stringify({ error: { code, message: 'the export stopped before its end; retry it', details: [] }, meta: { request_id: request.id } }) + '\n';
    }
  }
  return reply.code(200).type('application/x-ndjson; charset=utf-8').send(Readable.from(lines(), { objectMode: false, highWaterMark: 1 }));
}
