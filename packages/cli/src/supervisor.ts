import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '@vigil/logging';

export interface ServiceSpec {
  name: string;
  /** Node arguments, e.g. ['--import', 'tsx', '/path/services/ingest/src/main.ts']. */
  args: string[];
  env: NodeJS.ProcessEnv;
}

interface Running {
  spec: ServiceSpec;
  child: ChildProcess | null;
  restarts: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Runs each service as its own Node process, restarts one that exits unexpectedly (backoff 1 s doubling
 * to 30 s, reset after a minute of uptime), and stops them all with SIGTERM (SIGKILL after a grace period).
 */
export class Supervisor {
  private readonly running = new Map<string, Running>();
  private stopping = false;

  /**
   * `output`: where the services' stdout (their JSON logs) goes; `stderr` keeps this process's stdout for
   * its own result (`vigil up --json`). Their stderr is always this process's stderr.
   */
  constructor(
    private readonly logger: Logger,
    private readonly graceMs = 20_000,
    private readonly output: 'inherit' | 'stderr' = 'inherit',
  ) {}

  start(specs: ServiceSpec[]): void {
    for (const spec of specs) {
      const r: Running = { spec, child: null, restarts: 0, timer: null };
      this.running.set(spec.name, r);
      this.launch(r);
    }
  }

  private launch(r: Running): void {
    const startedAt = Date.now();
    const child = spawn(process.execPath, r.spec.args, { env: r.spec.env, stdio: ['ignore', this.output === 'stderr' ? 2 : 'inherit', 'inherit'] });
    r.child = child;
    this.logger.info({ service: r.spec.name, pid: child.pid }, 'service started');
    child.on('exit', (code, signal) => {
      r.child = null;
      if (this.stopping) return;
      if (Date.now() - startedAt > 60_000) r.restarts = 0;
      const delay = Math.min(30_000, 1000 * 2 ** r.restarts);
      r.restarts += 1;
      this.logger.error({ service: r.spec.name, code, signal, restart_in_ms: delay }, 'service exited; restarting');
      r.timer = setTimeout(() => this.launch(r), delay);
    });
  }

  pids(): Record<string, number | null> {
    return Object.fromEntries([...this.running].map(([name, r]) => [name, r.child?.pid ?? null]));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.running.values()].map(async (r) => {
        if (r.timer) clearTimeout(r.timer);
        const child = r.child;
        if (!child || child.exitCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), this.graceMs);
        await exited;
        clearTimeout(killer);
      }),
    );
  }
}
