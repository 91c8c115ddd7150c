import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRetrySchedule } from '@vigil/webhook-signing';
import { decideAfterAttempt } from './attempt-decision';
import { EndpointGate, type Admission } from './endpoint-gate';

function gate(overrides: Partial<ConstructorParameters<typeof EndpointGate>[0]> = {}) {
  let now = 1_000_000;
  const g = new EndpointGate({
    perEndpoint: 2,
    unhealthyBudget: 3,
    slowAfterMs: 2000,
    waitMs: 30,
    deferBaseMs: 1000,
    deferMaxMs: 30_000,
    // The waiting budget on its own; the waits it allows fast endpoints are tested below.
    shortWaitMs: 0,
    now: () => now,
    random: () => 0.5,
    ...overrides,
  });
  return { g, advance: (ms: number) => (now += ms) };
}

async function admitted(admission: Admission | Promise<Admission>) {
  const a = await admission;
  assert.ok(a.admitted, `expected admission, got ${JSON.stringify(a)}`);
  return a;
}

async function deferred(admission: Admission | Promise<Admission>) {
  const a = await admission;
  assert.ok(!a.admitted, 'expected deferral');
  return a;
}

test('a healthy endpoint gets its slots, then a short wait, then deferral; endpoints do not share slots', async () => {
  const { g } = gate({ waitingBudget: 2 });
  const a1 = await admitted(g.admit('a'));
  await admitted(g.admit('a'));
  await admitted(g.admit('b'));
  // Third request to "a" waits for a slot and gets it when one is released.
  const waiting = g.admit('a');
  a1.release({ kind: 'healthy' });
  await admitted(waiting);
  // With both slots busy and the wait queue full (2 waiters), the next one is deferred at once.
  const w1 = g.admit('a');
  const w2 = g.admit('a');
  const busy = await deferred(g.admit('a'));
  assert.equal(busy.reason, 'endpoint_busy');
  assert.equal(busy.park, true, 'beyond the waiting budget the job is parked, not churned through the queue');
  // Waiters give up after waitMs and are parked too.
  assert.deepEqual([(await deferred(w1)).park, (await deferred(w2)).park], [true, true]);
  assert.equal(g.inFlight(), 3);
});

test('beyond the waiting budget, jobs of an endpoint answering fast wait for a slot; of a slow or stalled one they are parked', async () => {
  const { g, advance } = gate({ waitingBudget: 1, waitMs: 1000, shortWaitMs: 100 });
  const learn = async (endpoint: string, ms: number) => {
    const [x, y] = [await admitted(g.admit(endpoint)), await admitted(g.admit(endpoint))];
    advance(ms);
    x.release({ kind: 'healthy' });
    y.release({ kind: 'healthy' });
  };
  await learn('fast', 10);
  await learn('slow', 300);
  // "fast" answers in 10 ms: with its 2 slots busy, waiters beyond the budget get a slot within 100 ms.
  const fast = [await admitted(g.admit('fast')), await admitted(g.admit('fast'))];
  const waiters = [g.admit('fast'), g.admit('fast'), g.admit('fast')];
  advance(5);
  fast[0]!.release({ kind: 'healthy' });
  fast[1]!.release({ kind: 'healthy' });
  const [w1, w2] = [await admitted(waiters[0]!), await admitted(waiters[1]!)];
  // Its requests now open longer than it usually takes: new jobs are parked, not gathered.
  advance(150);
  const stalled = await deferred(g.admit('fast'));
  assert.deepEqual([stalled.reason, stalled.park], ['endpoint_busy', true]);
  w1.release({ kind: 'healthy' });
  w2.release({ kind: 'healthy' });
  (await admitted(waiters[2]!)).release({ kind: 'healthy' });
  // "slow" answers in 300 ms: the budget (taken by one waiter) is all it gets.
  const slow = [await admitted(g.admit('slow')), await admitted(g.admit('slow'))];
  const slowWaiter = g.admit('slow');
  assert.equal((await deferred(g.admit('slow'))).park, true);
  slow[0]!.release({ kind: 'healthy' });
  (await admitted(slowWaiter)).release({ kind: 'healthy' });
  slow[1]!.release({ kind: 'healthy' });
  // An endpoint let go while idle is still known as fast when its next burst comes.
  assert.equal(g.inFlight(), 0);
  const again = [await admitted(g.admit('fast')), await admitted(g.admit('fast'))];
  const more = [g.admit('fast'), g.admit('fast')];
  for (const a of again) a.release({ kind: 'healthy' });
  for (const m of more) (await admitted(m)).release({ kind: 'healthy' });
});

test('accepting: jobs of endpoints neither paused nor in trouble are let through (and may read ahead)', async () => {
  const { g, advance } = gate();
  assert.equal(g.accepting('new'), true);
  (await admitted(g.admit('failing'))).release({ kind: 'unhealthy' });
  assert.equal(g.accepting('failing'), false);
  (await admitted(g.admit('paused'))).release({ kind: 'unhealthy', retryAfterMs: 5000 });
  assert.equal(g.accepting('paused'), false);
  const slow = await admitted(g.admit('slow'));
  assert.equal(g.accepting('slow'), true);
  advance(2500);
  assert.equal(g.accepting('slow'), false, 'a request open longer than slowAfter');
  slow.release({ kind: 'healthy' });
  assert.equal(g.accepting('slow'), true);
  assert.equal(g.inFlight(), 0, 'asking took no slot');
});

test('an endpoint in trouble gets one probe at a time; the others are parked while it is in flight', async () => {
  const { g } = gate();
  assert.deepEqual(g.planNewJob('bad'), { kind: 'now' }, 'nothing known: new jobs go at once');
  const first = await admitted(g.admit('bad'));
  first.release({ kind: 'unhealthy' });
  assert.deepEqual(g.planNewJob('bad'), { kind: 'hold', delayMs: 1000 }, 'in trouble, no probe yet: queued delayed');
  const probe = await admitted(g.admit('bad'));
  const d0 = await deferred(g.admit('bad', 0));
  const d7 = await deferred(g.admit('bad', 7000));
  const dLong = await deferred(g.admit('bad', 3_600_000));
  assert.equal(d0.reason, 'endpoint_unhealthy');
  assert.equal(d0.park, true, 'a probe is in flight: the job is parked');
  assert.equal(d0.deferMs, 1000, 'at least the base');
  assert.equal(d7.deferMs, 7000);
  assert.equal(dLong.deferMs, 30_000, 'capped');
  assert.deepEqual(g.planNewJob('bad'), { kind: 'park' }, 'new messages get no job while the probe runs');
  assert.deepEqual(g.planNewJob('good'), { kind: 'now' });
  assert.equal(g.troubledCount(), 1);
  // Healthy endpoints are untouched.
  await admitted(g.admit('good'));
  // A successful probe restores the endpoint.
  probe.release({ kind: 'healthy' });
  await admitted(g.admit('bad'));
  await admitted(g.admit('bad'));
  assert.equal(g.troubledCount(), 0);
});

test('an endpoint failing at once holds one new message as its next probe and parks the rest until it is back', async () => {
  const asked: number[] = [];
  const { g, advance } = gate({ resume: async (_id, limit) => (asked.push(limit), 0) });
  // Refused connections: the attempt fails at once, so no request is in flight between attempts.
  (await admitted(g.admit('down'))).release({ kind: 'unhealthy' });
  assert.deepEqual(g.planNewJob('down'), { kind: 'hold', delayMs: 1000 }, 'the next probe is queued delayed');
  for (let i = 0; i < 5; i += 1) assert.deepEqual(g.planNewJob('down'), { kind: 'park' }, 'the others are parked, not queued to come back and be put off again');
  g.noteParked('down', 5);
  assert.deepEqual(asked, [], 'not asked for while the endpoint is in trouble');
  advance(1000);
  // The probe comes and fails; its own retry is scheduled by the message, and the next new message is the next probe.
  (await admitted(g.admit('down'))).release({ kind: 'unhealthy' });
  assert.deepEqual(g.planNewJob('down'), { kind: 'hold', delayMs: 1000 });
  assert.deepEqual(g.planNewJob('down'), { kind: 'park' });
  // A probe that does not come (taken by another process) is not waited for long.
  advance(1000 + 5001);
  const plan = g.planNewJob('down');
  assert.equal(plan.kind, 'hold', JSON.stringify(plan));
  advance(plan.kind === 'hold' ? plan.delayMs : 0);
  // The endpoint is back: the parked messages are asked for.
  (await admitted(g.admit('down'))).release({ kind: 'healthy' });
  assert.equal(asked.length, 1);
  assert.deepEqual(g.planNewJob('down'), { kind: 'park' }, 'behind the parked ones while they are taken back');
});

test('recovery asks for the parked messages back; deferrals last as long as the trouble', async () => {
  const asked: Array<[string, number]> = [];
  const { g, advance } = gate({ resume: async (id, limit) => (asked.push([id, limit]), 0) });
  (await admitted(g.admit('flaky'))).release({ kind: 'unhealthy' });
  advance(10_000);
  assert.deepEqual(g.planNewJob('flaky'), { kind: 'hold', delayMs: 10_000 });
  const probe = await admitted(g.admit('flaky'));
  assert.equal((await deferred(g.admit('flaky', 0))).deferMs, 10_000, 'deferred for as long as the trouble has lasted');
  probe.release({ kind: 'unhealthy' });
  assert.deepEqual(asked, []);
  (await admitted(g.admit('flaky'))).release({ kind: 'healthy' });
  assert.deepEqual(asked, [['flaky', 4]], 'back: its window (slots and waiting budget, up to 4 rounds) is asked for');
  await new Promise((resolve) => setImmediate(resolve));
  (await admitted(g.admit('flaky'))).release({ kind: 'healthy' });
  assert.equal(asked.length, 1, 'nothing was parked: a healthy endpoint is not asked again');
  assert.deepEqual(g.planNewJob('flaky'), { kind: 'now' });
});

test('flow control: a busy endpoint parks its overflow and takes it back as it has room', async () => {
  let parkedInDatabase = 0;
  const asked: number[] = [];
  const { g } = gate({
    waitingBudget: 0,
    resume: async (_id, limit) => {
      asked.push(limit);
      const found = Math.min(limit, parkedInDatabase);
      parkedInDatabase -= found;
      return found;
    },
  });
  const a = await admitted(g.admit('busy'));
  const b = await admitted(g.admit('busy'));
  const over = await deferred(g.admit('busy'));
  assert.deepEqual([over.reason, over.park], ['endpoint_busy', true]);
  parkedInDatabase = 5;
  g.noteParked('busy', 1);
  assert.deepEqual(asked, [], 'no room: nothing is asked back yet');
  assert.deepEqual(g.planNewJob('busy'), { kind: 'park' }, 'new messages queue up behind the parked ones');
  g.noteParked('busy', 4);
  a.release({ kind: 'healthy' });
  assert.deepEqual(asked, [], 'one still in flight: half of the two-slot window is on hand');
  b.release({ kind: 'healthy' });
  assert.deepEqual(asked, [2], 'empty: the window (its slots, no waiting budget) is asked for');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(parkedInDatabase, 3);
  // They come back as jobs; as they are admitted and finish, the rest is asked for.
  for (let round = 0; round < 10 && parkedInDatabase > 0; round += 1) {
    (await admitted(g.admit('busy'))).release({ kind: 'healthy' });
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(parkedInDatabase, 0);
  (await admitted(g.admit('busy'))).release({ kind: 'healthy' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(g.planNewJob('busy'), { kind: 'now' }, 'all taken back: new messages go straight to the queue');
});

test('messages parked while parked ones are being taken back are asked for too, not left to the pending sweep', async () => {
  let parkedInDatabase = 0;
  const asked: number[] = [];
  let answer: (() => void) | undefined;
  const { g } = gate({
    waitingBudget: 0,
    resume: (_id, limit) => {
      asked.push(limit);
      // The parked messages are taken at once; the answer comes later (the enqueue is under way).
      const found = Math.min(limit, parkedInDatabase);
      parkedInDatabase -= found;
      return new Promise<number>((resolve) => (answer = () => resolve(found)));
    },
  });
  const a = await admitted(g.admit('busy'));
  const b = await admitted(g.admit('busy'));
  await deferred(g.admit('busy'));
  parkedInDatabase = 1;
  g.noteParked('busy', 1);
  a.release({ kind: 'healthy' });
  b.release({ kind: 'healthy' });
  assert.deepEqual(asked, [2]);
  // While that is under way, a new message of the endpoint is parked behind it.
  assert.deepEqual(g.planNewJob('busy'), { kind: 'park' });
  parkedInDatabase += 1;
  g.noteParked('busy', 1);
  answer!();
  await new Promise((resolve) => setImmediate(resolve));
  // The resumed message comes back as a job and is delivered; the one parked meanwhile is asked for.
  (await admitted(g.admit('busy'))).release({ kind: 'healthy' });
  assert.deepEqual(asked, [2, 2]);
  answer!();
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(parkedInDatabase, 0, 'the message parked meanwhile was taken back');
});

test('parked messages are asked for again when resumed jobs counted on do not come, with nothing else happening', async () => {
  const asked: number[] = [];
  const g = new EndpointGate({
    perEndpoint: 2,
    unhealthyBudget: 3,
    slowAfterMs: 2000,
    waitMs: 30,
    waitingBudget: 0,
    deferMaxMs: 30_000,
    inboundGraceMs: 30,
    // Found as many as asked for, but their jobs never come (delayed to a later attempt, or taken elsewhere).
    resume: async (_id, limit) => (asked.push(limit), limit),
  });
  const a = await admitted(g.admit('busy'));
  const b = await admitted(g.admit('busy'));
  await deferred(g.admit('busy'));
  g.noteParked('busy', 10);
  a.release({ kind: 'healthy' });
  b.release({ kind: 'healthy' });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(asked, [2], 'the endpoint\'s window is asked for as its requests finish');
  // No request runs and no new message comes: without a later look the rest would wait for the pending sweep.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(asked.length >= 2, `asked again once the resumed jobs were overdue: ${JSON.stringify(asked)}`);
  g.close();
});

test('a request in flight longer than slowAfter makes the endpoint suspect before it fails', async () => {
  const { g, advance } = gate();
  const hanging = await admitted(g.admit('slow'));
  advance(2500);
  const d = await deferred(g.admit('slow'));
  assert.equal(d.reason, 'endpoint_unhealthy');
  hanging.release({ kind: 'unhealthy' });
  await admitted(g.admit('slow'));
});

test('Retry-After pauses the whole endpoint until then', async () => {
  const { g, advance } = gate();
  const a = await admitted(g.admit('limited'));
  a.release({ kind: 'unhealthy', retryAfterMs: 2000 });
  const d = await deferred(g.admit('limited'));
  assert.equal(d.reason, 'endpoint_paused');
  assert.ok(d.deferMs >= 2000, `deferred ${d.deferMs} ms`);
  const plan = g.planNewJob('limited');
  assert.ok(plan.kind === 'hold' && plan.delayMs >= 2000, JSON.stringify(plan));
  advance(2001);
  await admitted(g.admit('limited'));
});

test('probes of all endpoints in trouble together hold at most the budget', async () => {
  const { g } = gate({ unhealthyBudget: 2 });
  for (const id of ['x', 'y', 'z']) (await admitted(g.admit(id))).release({ kind: 'unhealthy' });
  await admitted(g.admit('x'));
  await admitted(g.admit('y'));
  assert.equal((await deferred(g.admit('z'))).reason, 'endpoint_unhealthy');
  await admitted(g.admit('healthy'));
});

test('a neutral answer (4xx, redirect, refusal) changes nothing; close sends waiters back', async () => {
  const { g } = gate({ perEndpoint: 1 });
  const a = await admitted(g.admit('e'));
  const waiting = g.admit('e');
  a.release({ kind: 'neutral' });
  const b = await admitted(waiting);
  const waiter = g.admit('e');
  g.close();
  assert.equal((await deferred(waiter)).reason, 'endpoint_busy');
  b.release({ kind: 'healthy' });
  assert.equal((await deferred(g.admit('e'))).reason, 'endpoint_busy', 'closed: nothing new starts');
});

test('attempt decisions: what each outcome does to the message, the endpoint and the gate', () => {
  const schedule = createRetrySchedule({ delays: ['1s', '2s'], jitter: 0 });
  assert.deepEqual(decideAfterAttempt({ action: 'delivered', errorClass: null }, 1, schedule), {
    messageStatus: 'delivered',
    failureReason: null,
    nextDelayMs: null,
    endpointResult: 'success',
    signal: { kind: 'healthy' },
  });
  assert.deepEqual(decideAfterAttempt({ action: 'retry', errorClass: 'http_rate_limited', retryAfterMs: 5000 }, 1, schedule), {
    messageStatus: 'pending',
    failureReason: null,
    nextDelayMs: 5000,
    endpointResult: 'failure',
    signal: { kind: 'unhealthy', retryAfterMs: 5000 },
  });
  const redirect = decideAfterAttempt({ action: 'retry', errorClass: 'http_redirect' }, 2, schedule);
  assert.deepEqual([redirect.messageStatus, redirect.nextDelayMs, redirect.signal.kind], ['pending', 2000, 'neutral']);
  const last = decideAfterAttempt({ action: 'retry', errorClass: 'total_timeout' }, 3, schedule);
  assert.deepEqual([last.messageStatus, last.failureReason, last.signal.kind], ['failed', 'attempts_exhausted', 'unhealthy']);
  const gone = decideAfterAttempt({ action: 'disable_endpoint', errorClass: 'http_gone' }, 1, schedule);
  assert.deepEqual([gone.messageStatus, gone.failureReason, gone.endpointResult], ['failed', 'endpoint_gone', 'gone']);
  const refused = decideAfterAttempt({ action: 'fail', errorClass: 'ssrf_refused' }, 1, schedule);
  assert.deepEqual([refused.messageStatus, refused.failureReason, refused.endpointResult], ['failed', 'destination_refused', 'failure']);
});
