import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Local dependencies run as detached daemons with a pid file, so `vigil infra up` can return while they
 * keep running, and `vigil infra down` (or the process that started them) can stop them later.
 */
export interface DaemonSpec {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
  uid?: number;
  gid?: number;
}

export function readPid(pidFile: string): number | null {
  if (!existsSync(pidFile)) return null;
  const pid = Number(readFileSync(pidFile, 'utf8').trim().split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts the daemon in its own process group, stdout and stderr appended to its log file. */
export function startDaemon(spec: DaemonSpec): number {
  const fd = openSync(spec.logFile, 'a');
  const options: SpawnOptions = {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: spec.env ?? process.env,
    ...(spec.cwd ? { cwd: spec.cwd } : {}),
    ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
    ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
  };
  const child = spawn(spec.command, spec.args, options);
  closeSync(fd);
  if (!child.pid) throw new Error(`${spec.name}: could not start ${spec.command}`);
  child.unref();
  writeFileSync(spec.pidFile, `${child.pid}\n`);
  return child.pid;
}

/** `stopSignal` (SIGTERM) to the process group, then SIGKILL after `graceMs`; removes the pid file. */
export async function stopDaemon(pidFile: string, graceMs = 15_000, stopSignal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  const pid = readPid(pidFile);
  if (pid === null) return false;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal(stopSignal);
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    signal('SIGKILL');
    while (isAlive(pid)) await sleep(50);
  }
  rmSync(pidFile, { force: true });
  return true;
}

export async function tailFile(file: string, lines = 30): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Polls `check` until it resolves true. Fails early if `alive` reports the process died, and in both
 * failure cases includes the tail of the log so the user sees why.
 */
export async function waitHealthy(opts: {
  name: string;
  check: () => Promise<boolean>;
  alive: () => boolean;
  logFile: string;
  timeoutMs: number;
}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await opts.check().catch(() => false)) return;
    if (!opts.alive()) {
      throw new Error(`${opts.name} exited during start-up. Last lines of ${opts.logFile}:\n${await tailFile(opts.logFile)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${opts.name} not healthy after ${opts.timeoutMs / 1000}s. Last lines of ${opts.logFile}:\n${await tailFile(opts.logFile)}`,
      );
    }
    await sleep(250);
  }
}
