import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { hasCommand, run } from './commands';
import { daemonComponent, type Component } from './component';

export interface RedisOptions {
  dataDir: string;
  port: number;
}

/** Debian's redis-server; installed with apt-get when missing and we may (root on Debian). */
async function redisServer(): Promise<string> {
  if (await hasCommand('redis-server')) return 'redis-server';
  if (userInfo().uid === 0 && existsSync('/etc/debian_version') && (await hasCommand('apt-get'))) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    try {
      await run('apt-get', ['install', '-y', '-q', 'redis-server'], { env });
    } catch {
      await run('apt-get', ['update', '-q'], { env });
      await run('apt-get', ['install', '-y', '-q', 'redis-server'], { env });
    }
    if (await hasCommand('redis-server')) return 'redis-server';
  }
  throw new Error(
    'redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), ' +
      'or point Vigil at an existing Redis with REDIS_URL (it must use maxmemory-policy noeviction).',
  );
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      buf += d;
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
  });
}

/** A local Redis with append-only persistence and the `noeviction` policy BullMQ requires. */
export function redisComponent(o: RedisOptions): Component {
  return daemonComponent({
    name: 'redis',
    endpoint: `redis://127.0.0.1:${o.port}`,
    dataDir: o.dataDir,
    startTimeoutMs: 30_000,
    async prepare({ home }) {
      return {
        command: await redisServer(),
        args: [
          '--port', String(o.port),
          '--bind', '127.0.0.1',
          '--dir', home,
          '--appendonly', 'yes',
          '--appendfsync', 'everysec',
          '--maxmemory-policy', 'noeviction',
          '--save', '',
          '--daemonize', 'no',
        ],
      };
    },
    healthy: () => ping(o.port),
  });
}
