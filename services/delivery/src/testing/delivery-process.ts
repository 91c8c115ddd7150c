/**
 * The delivery service as a separate process (src/main.ts, as `vigil up` runs it), for tests that
 * kill it, stop it with a signal, or must not share an event loop with what they measure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

export interface DeliveryProcess {
  child: ChildProcess;
  /** Resolves when the service logged that it started; rejects if it exits first. */
  started: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Log lines (pino JSON) seen so far. */
  lines: string[];
}

export function spawnDelivery(env: Record<string, string>): DeliveryProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: { ...process.env, VIGIL_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const started = new Promise<void>((resolve, reject) => {
    const onLine = (line: string) => {
      lines.push(line);
      if (line.includes('"msg":"delivery started"')) resolve();
    };
    createInterface({ input: child.stdout! }).on('line', onLine);
    createInterface({ input: child.stderr! }).on('line', (line) => lines.push(line));
    void exited.then(({ code, signal }) => reject(new Error(`delivery exited (${code ?? signal}) before it started:\n${lines.slice(-20).join('\n')}`)));
  });
  started.catch(() => undefined);
  return { child, started, exited, lines };
}
