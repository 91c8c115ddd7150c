import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, readPid, startDaemon, stopDaemon, waitHealthy, type DaemonSpec } from './daemon';

export type ComponentName = 'kafka' | 'registry' | 'postgres' | 'redis';

export interface ComponentStatus {
  name: ComponentName;
  endpoint: string;
  pid: number | null;
  running: boolean;
  healthy: boolean;
}

/** One local dependency: how to prepare it, how to launch it and how to tell that it serves. */
export interface Component {
  readonly name: ComponentName;
  readonly endpoint: string;
  /** Start if not running and healthy; `reused` when an instance this data dir started was already up. */
  start(): Promise<{ reused: boolean; ms: number }>;
  stop(): Promise<boolean>;
  status(): Promise<ComponentStatus>;
}

export interface DaemonComponentSpec {
  name: ComponentName;
  endpoint: string;
  dataDir: string;
  startTimeoutMs: number;
  /** Prepares files and returns how to launch the daemon. */
  prepare(paths: { logFile: string; pidFile: string; home: string }): Promise<Omit<DaemonSpec, 'logFile' | 'pidFile' | 'name'>>;
  healthy(): Promise<boolean>;
  /** The signal that asks for a clean, prompt shutdown (PostgreSQL: SIGINT, "fast" mode). */
  stopSignal?: NodeJS.Signals;
}

export function paths(dataDir: string, name: ComponentName) {
  const logs = join(dataDir, 'logs');
  const run = join(dataDir, 'run');
  const home = join(dataDir, name);
  mkdirSync(logs, { recursive: true });
  mkdirSync(run, { recursive: true });
  mkdirSync(home, { recursive: true });
  return { logFile: join(logs, `${name}.log`), pidFile: join(run, `${name}.pid`), home };
}

export function daemonComponent(spec: DaemonComponentSpec): Component {
  const p = paths(spec.dataDir, spec.name);
  const running = () => {
    const pid = readPid(p.pidFile);
    return pid !== null && isAlive(pid);
  };
  const healthy = () => spec.healthy().catch(() => false);
  return {
    name: spec.name,
    endpoint: spec.endpoint,
    async start() {
      const t0 = Date.now();
      if (running()) {
        await waitHealthy({ name: spec.name, check: healthy, alive: running, logFile: p.logFile, timeoutMs: spec.startTimeoutMs });
        return { reused: true, ms: Date.now() - t0 };
      }
      if (await healthy()) {
        throw new Error(
          `${spec.name}: something else already answers at ${spec.endpoint}, and it was not started from this data directory. ` +
            `Stop it, choose another port, or point Vigil at it with the matching *_URL / KAFKA_BROKERS variable.`,
        );
      }
      const launch = await spec.prepare(p);
      startDaemon({ ...launch, name: spec.name, logFile: p.logFile, pidFile: p.pidFile });
      await waitHealthy({ name: spec.name, check: healthy, alive: running, logFile: p.logFile, timeoutMs: spec.startTimeoutMs });
      return { reused: false, ms: Date.now() - t0 };
    },
    async stop() {
      return stopDaemon(p.pidFile, 30_000, spec.stopSignal ?? 'SIGTERM');
    },
    async status() {
      const pid = readPid(p.pidFile);
      const alive = pid !== null && isAlive(pid);
      return { name: spec.name, endpoint: spec.endpoint, pid: alive ? pid : null, running: alive, healthy: alive && (await healthy()) };
    },
  };
}
