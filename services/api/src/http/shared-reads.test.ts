import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listReadKey, SharedReads } from './shared-reads';

/** A read that settles when told to, counting how often it was started. */
function controlledRead<T>() {
  let started = 0;
  const pending: Array<{ resolve: (v: T) => void; reject: (e: Error) => void }> = [];
  const read = () => {
    started++;
    return new Promise<T>((resolve, reject) => pending.push({ resolve, reject }));
  };
  return { read, started: () => started, pending };
}

test('identical reads running at once share one read; other keys run their own', async () => {
  const counted: string[] = [];
  const shared = new SharedReads(true, (r) => counted.push(r));
  const a = controlledRead<string>();
  const b = controlledRead<string>();
  const answers = [shared.run('a', a.read), shared.run('a', a.read), shared.run('b', b.read), shared.run('a', a.read)];
  assert.equal(a.started(), 1);
  assert.equal(b.started(), 1);
  assert.equal(shared.size, 2);
  a.pending[0]!.resolve('rows of a');
  b.pending[0]!.resolve('rows of b');
  assert.deepEqual(await Promise.all(answers), ['rows of a', 'rows of a', 'rows of b', 'rows of a']);
  assert.deepEqual(counted, ['led', 'joined', 'led', 'joined']);
  assert.equal(shared.size, 0, 'nothing is kept once a read settled');
});

test('a read that settled is not reused: the next request reads again', async () => {
  const shared = new SharedReads();
  let n = 0;
  assert.equal(await shared.run('k', async () => ++n), 1);
  assert.equal(await shared.run('k', async () => ++n), 2);
});

test('a failed read fails every request that shared it, and is forgotten', async () => {
  const shared = new SharedReads();
  const r = controlledRead<string>();
  const first = shared.run('k', r.read);
  const second = shared.run('k', r.read);
  r.pending[0]!.reject(new Error('statement timeout'));
  await assert.rejects(first, /statement timeout/);
  await assert.rejects(second, /statement timeout/);
  assert.equal(shared.size, 0);
  const third = shared.run('k', r.read);
  assert.equal(r.started(), 2, 'the next request reads again');
  r.pending[1]!.resolve('fresh');
  assert.equal(await third, 'fresh');
});

test('turned off, every request runs its own read', async () => {
  const shared = new SharedReads(false);
  const r = controlledRead<number>();
  const answers = [shared.run('k', r.read), shared.run('k', r.read)];
  assert.equal(r.started(), 2);
  r.pending.forEach((p, i) => p.resolve(i));
  assert.deepEqual(await Promise.all(answers), [0, 1]);
});

test('keys separate resources and organizations, and follow the validated query', () => {
  assert.notEqual(listReadKey('events', 1, { limit: 5 }), listReadKey('events', 2, { limit: 5 }));
  assert.notEqual(listReadKey('events', 1, { limit: 5 }), listReadKey('flows', 1, { limit: 5 }));
  assert.notEqual(listReadKey('events', 1, { limit: 5 }), listReadKey('events', 1, { limit: 6 }));
  assert.equal(listReadKey('events', 1, { class: ['security'], limit: 5 }), listReadKey('events', 1, { class: ['security'], limit: 5 }));
});

test('after a write, new requests start their own read instead of joining one that began before it', async () => {
  const shared = new SharedReads();
  const before = controlledRead<string>();
  const older = shared.run(listReadKey('alerts', 1, { limit: 5 }), before.read);
  const otherOrg = shared.run(listReadKey('alerts', 2, { limit: 5 }), before.read);
  const otherResource = shared.run(listReadKey('events', 1, { limit: 5 }), before.read);
  shared.startAfterWrite('alerts', 1);
  const after = controlledRead<string>();
  const newer = shared.run(listReadKey('alerts', 1, { limit: 5 }), after.read);
  assert.equal(after.started(), 1, 'the request after the write reads again');
  const joined = shared.run(listReadKey('alerts', 2, { limit: 5 }), after.read);
  shared.run(listReadKey('events', 1, { limit: 5 }), after.read);
  assert.equal(after.started(), 1, 'reads of other organizations and resources are still shared');
  before.pending.forEach((p, i) => p.resolve(`before ${i}`));
  assert.equal(await older, 'before 0');
  assert.equal(await otherOrg, 'before 1');
  assert.equal(await joined, 'before 1');
  assert.equal(await otherResource, 'before 2');
  // The older read settling must not drop the newer read's entry: a request now still joins the newer read.
  const third = shared.run(listReadKey('alerts', 1, { limit: 5 }), after.read);
  assert.equal(after.started(), 1);
  after.pending[0]!.resolve('after');
  assert.equal(await newer, 'after');
  assert.equal(await third, 'after');
});
