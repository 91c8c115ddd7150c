import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UnparkedMessage } from '@vigil/db';
import { enqueueResumed, type ResumeQueue } from './endpoint-resume';

/** A queue that, like BullMQ, ignores a job added under the id of one that still exists. */
function fakeQueue() {
  const jobs = new Map<string, string>();
  const added: string[] = [];
  const queue = {
    getJobState: async (id: string) => jobs.get(id) ?? 'unknown',
    remove: async (id: string) => {
      jobs.delete(id);
      return 1;
    },
    addBulk: async (list: Array<{ opts?: { jobId?: string; delay?: number } }>) => {
      for (const job of list) {
        const id = job.opts!.jobId!;
        if (jobs.has(id)) continue;
        jobs.set(id, job.opts?.delay ? 'delayed' : 'waiting');
        added.push(id);
      }
      return [];
    },
  } as unknown as ResumeQueue;
  return { queue, jobs, added };
}

const message = (id: string): UnparkedMessage => ({ id, webhook_id: 'w', job_id: id, next_attempt_at: null });
const quiet = { warn: () => undefined };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('a message taken back while the job that parked it is still ending gets a job once that one is gone', async () => {
  const { queue, jobs, added } = fakeQueue();
  // The worker has marked msg_a parked and is about to end its job; msg_b's job ended long ago.
  jobs.set('msg_a', 'active');
  await enqueueResumed(queue, [message('msg_a'), message('msg_b')], quiet, { recheckMs: 5 });
  assert.deepEqual(added, ['msg_b']);
  jobs.delete('msg_a');
  await sleep(50);
  assert.deepEqual(added, ['msg_b', 'msg_a'], 'the message was given a job after its old one ended, not left to the pending sweep');
  assert.equal(jobs.get('msg_a'), 'waiting');
});

test('resumed messages whose job is kept as failed get a new one; one already waiting or delayed is left alone', async () => {
  const { queue, jobs, added } = fakeQueue();
  jobs.set('msg_f', 'failed');
  jobs.set('msg_w', 'waiting');
  jobs.set('msg_d', 'delayed');
  await enqueueResumed(queue, [message('msg_f'), message('msg_w'), message('msg_d')], quiet);
  assert.deepEqual(added, ['msg_f']);
  assert.equal(jobs.get('msg_w'), 'waiting');
  assert.equal(jobs.get('msg_d'), 'delayed');
});

test('a message kept active past the limit is left to the pending sweep, and said so', async () => {
  const { queue, jobs, added } = fakeQueue();
  jobs.set('msg_a', 'active');
  const warned: unknown[] = [];
  let t = 0;
  await enqueueResumed(queue, [message('msg_a')], { warn: (o: unknown) => warned.push(o) }, { recheckMs: 5, giveUpAfterMs: 20, now: () => t });
  t = 30;
  await sleep(50);
  assert.deepEqual(added, []);
  assert.equal(warned.length, 1);
});
