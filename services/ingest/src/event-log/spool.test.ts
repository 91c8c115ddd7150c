import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Message } from 'kafkajs';
import { silentLogger } from '@vigil/testkit';
import { Spool, SpoolFullError } from './spool';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-spool-'));
  dirs.push(dir);
  return dir;
}

const open = (dir: string, extra: { maxBytes?: number; segmentBytes?: number } = {}) =>
  Spool.open({ dir, maxBytes: extra.maxBytes ?? 64 * 1024 * 1024, segmentBytes: extra.segmentBytes ?? 1024 * 1024, logger: silentLogger() });

const message = (i: number): Message => ({ key: `key-${i}`, value: Buffer.from(`value ${i} `.repeat(20)) });

async function readAll(spool: Spool): Promise<{ values: string[]; end: Parameters<Spool['commit']>[0] }> {
  const values: string[] = [];
  let end = (await spool.read(0)).end;
  for (;;) {
    const batch = await spool.read(4096);
    if (batch.writes.length === 0) break;
    for (const w of batch.writes) for (const m of w.messages) values.push(`${w.topic}|${String(m.key)}|${(m.value as Buffer).toString()}`);
    end = batch.end;
    await spool.commit(end);
  }
  return { values, end };
}

const segments = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('seg-')).sort();

test('appends are read back in order, across segments, with topics, keys and empty keys', async () => {
  const dir = freshDir();
  const spool = await open(dir, { segmentBytes: 2048 });
  const expected: string[] = [];
  for (let i = 0; i < 40; i++) {
    const messages = [message(i), { key: null, value: Buffer.from(`keyless ${i}`) }];
    await spool.append(i % 2 === 0 ? 'vigil.events.v1' : 'vigil.flows.v1', messages);
    for (const m of messages) expected.push(`${i % 2 === 0 ? 'vigil.events.v1' : 'vigil.flows.v1'}|${m.key === null ? 'null' : m.key}|${(m.value as Buffer).toString()}`);
  }
  assert.ok(segments(dir).length > 3, 'rotated into several segments');
  assert.ok(spool.bytes() > 0);
  const { values } = await readAll(spool);
  assert.deepEqual(values, expected);
  assert.equal(spool.bytes(), 0);
  assert.equal(spool.isEmpty(), true);
  assert.deepEqual(segments(dir).length, 1, 'delivered segments are deleted');
  assert.equal(statSync(join(dir, segments(dir)[0] as string)).size, 0, 'and the delivered tail is emptied');
  await spool.close();
});

test('concurrent appends are fsynced together and all resolve', async () => {
  const spool = await open(freshDir());
  await Promise.all(Array.from({ length: 200 }, (_, i) => spool.append('t', [message(i)])));
  const { values } = await readAll(spool);
  assert.equal(values.length, 200);
  assert.equal(new Set(values).size, 200);
  await spool.close();
});

test('a frame cut short by a crash is dropped on open; everything acknowledged before it survives', async () => {
  const dir = freshDir();
  const first = await open(dir);
  for (let i = 0; i < 5; i++) await first.append('t', [message(i)]);
  await first.close();
  const [last] = segments(dir).slice(-1);
  appendFileSync(join(dir, last as string), Buffer.from([0x56, 0, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7]));
  const second = await open(dir);
  const { values } = await readAll(second);
  assert.deepEqual(values.map((v) => v.split('|')[1]), ['key-0', 'key-1', 'key-2', 'key-3', 'key-4']);
  await second.close();
});

test('after a restart, what was not confirmed delivered is delivered again (at least once), nothing is lost', async () => {
  const dir = freshDir();
  const first = await open(dir, { segmentBytes: 1024 });
  for (let i = 0; i < 30; i++) await first.append('t', [message(i)]);
  const part = await first.read(3000);
  await first.commit(part.end);
  const delivered = part.writes.length;
  assert.ok(delivered > 0 && delivered < 30);
  await first.close();

  const second = await open(dir, { segmentBytes: 1024 });
  await second.append('t', [message(30)]);
  const { values } = await readAll(second);
  const keys = values.map((v) => Number(v.split('|')[1]?.slice(4)));
  assert.equal(keys.at(-1), 30);
  for (let i = 0; i <= 30; i++) assert.ok(i < delivered || keys.includes(i), `event ${i} lost`);
  assert.deepEqual([...keys].sort((a, b) => a - b), keys, 'in order');
  await second.close();
});

test('a full spool refuses; one directory has one owner', async () => {
  const dir = freshDir();
  const spool = await open(dir, { maxBytes: 2000 });
  await spool.append('t', [message(1)]);
  await assert.rejects(spool.append('t', Array.from({ length: 20 }, (_, i) => message(i))), SpoolFullError);
  await assert.rejects(open(dir), /is in use by process/);
  await spool.close();
  const again = await open(dir);
  assert.equal((await readAll(again)).values.length, 1);
  await again.close();
});
