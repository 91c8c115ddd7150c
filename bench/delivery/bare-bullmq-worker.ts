/**
 * The baseline of bench/delivery/end-to-end.ts: BullMQ on its own, in its own process — a worker
 * with a no-op processor, the same concurrency and connection settings as delivery's worker, on
 * the same Redis. Prints one JSON line when it has completed `count` jobs: the time of the last
 * completion (Date.now()) and the CPU time the process used since it was ready.
 *
 * Run by end-to-end.ts: node --import tsx bench/delivery/bare-bullmq-worker.ts <redisUrl> <prefix> <queue> <concurrency> <count>
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [redisUrl, prefix, queueName, concurrencyText, countText] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countText);
let done = 0;
let cpuAtReady: NodeJS.CpuUsage | undefined;
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const worker = new Worker(queueName, async () => 'ok', { connection, prefix, concurrency: Number(concurrencyText), drainDelay: 1 });
worker.on('completed', () => {
  done += 1;
  if (done === count) {
    const cpu = process.cpuUsage(cpuAtReady);
    process.stdout.write(`${JSON.stringify({ lastCompletedAt: Date.now(), cpuMs: (cpu.user + cpu.system) / 1000 })}\n`);
    void worker.close().then(() => {
      connection.disconnect();
      process.exit(0);
    });
  }
});
await worker.waitUntilReady();
cpuAtReady = process.cpuUsage();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
