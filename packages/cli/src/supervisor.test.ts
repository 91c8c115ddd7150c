import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { silentLogger } from '@vigil/testkit';
import { Supervisor } from './supervisor';

test('a crashed service is restarted and stop() ends every service', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-sup-'));
  const log = join(dir, 'starts');
  // Appends a line per start; crashes on the first start, then stays up until SIGTERM.
  const script = `
    const fs = require('node:fs');
    fs.appendFileSync(${JSON.stringify(log)}, process.pid + '\\n');
    const n = fs.readFileSync(${JSON.stringify(log)}, 'utf8').trim().split('\\n').length;
    if (n === 1) process.exit(3);
    process.on('SIGTERM', () => { fs.appendFileSync(${JSON.stringify(log)}, 'term\\n'); process.exit(0); });
    setInterval(() => {}, 1000);
  `;
  const sup = new Supervisor(silentLogger(), 5000);
  sup.start([{ name: 'flaky', args: ['-e', script], env: process.env }]);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && readFileSafe(log).length < 2) await sleep(100);
  const starts = readFileSafe(log);
  assert.equal(starts.length, 2, 'restarted once after the crash');
  const pid = sup.pids().flaky;
  assert.equal(pid, Number(starts[1]));
  await sup.stop();
  assert.deepEqual(readFileSafe(log).slice(2), ['term'], 'received SIGTERM');
  assert.throws(() => process.kill(pid!, 0));
  rmSync(dir, { recursive: true, force: true });
});

function readFileSafe(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}
