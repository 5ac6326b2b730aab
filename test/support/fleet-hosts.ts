/**
 * Real TLS server processes on loopback for the fleet tests: the demo TLS host (dist/demo-host.js,
 * reloads on SIGHUP) and nginx (a generated configuration in a temp prefix, reloaded with
 * `nginx -s reload`). Every process started here is tracked and stopped by `stopAll`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const DEMO_HOST_BIN = resolve(__dirname, '..', '..', 'dist', 'demo-host.js');

export interface ServerProcess {
  readonly kind: 'demo-host' | 'nginx';
  readonly port: number;
  readonly pid: number;
  /** The command that makes this server load the files again. */
  readonly reload: readonly string[];
  stop(): Promise<void>;
}

const running = new Set<ServerProcess>();

/** A free loopback port (bound then released; the server binds it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Where nginx is, or a clear failure: the fleet test needs it (scripts/ensure-test-deps.sh installs it). */
export function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'nginx is not installed: the fleet test runs real nginx hosts. Run `bash scripts/ensure-test-deps.sh` (as root it installs the Debian nginx package) or `apt-get install nginx-light`.',
    );
  }
}

function track(server: ServerProcess): ServerProcess {
  running.add(server);
  return server;
}

function waitForExit(child: ChildProcess, ms: number): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
  });
}

/**
 * Starts dist/demo-host.js serving `<dir>/fullchain.pem` + `key.pem` on 127.0.0.1:`port`; with port 0
 * (the default) the host picks a free port itself and reports it, so parallel suites never collide.
 */
export async function startDemoHost(dir: string, port = 0): Promise<ServerProcess> {
  if (!existsSync(DEMO_HOST_BIN))
    throw new Error(`${DEMO_HOST_BIN} is missing: run \`npm run build\` first (npm test builds it)`);
  const child = spawn(process.execPath, [DEMO_HOST_BIN, dir, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const listening = await new Promise<number>((ready, fail) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a host running that nobody tracks
      fail(new Error(`demo host on ${port} did not start: ${err}`));
    }, 10_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        ready(Number(match[1]));
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`demo host on ${port} exited ${code}: ${err}`));
    });
  });
  const server: ServerProcess = {
    kind: 'demo-host',
    port: listening,
    pid: child.pid!,
    reload: ['kill', '-HUP', String(child.pid)],
    async stop() {
      running.delete(server);
      child.kill('SIGTERM');
      await waitForExit(child, 3000);
    },
  };
  return track(server);
}

/** Starts nginx (master in the foreground) serving `<dir>/fullchain.pem` + `key.pem` on 127.0.0.1:`port`. */
export async function startNginx(prefix: string, dir: string, port: number): Promise<ServerProcess> {
  const nginx = nginxBinary();
  await mkdir(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  await writeFile(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
pid ${join(prefix, 'nginx.pid')};
error_log ${join(prefix, 'logs', 'error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, 'client_body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  server {
    listen 127.0.0.1:${port} ssl;
    server_name localhost;
    ssl_certificate ${join(dir, 'fullchain.pem')};
    ssl_certificate_key ${join(dir, 'key.pem')};
    ssl_session_cache off;
    ssl_session_tickets off;
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  const args = ['-p', prefix, '-c', conf, '-e', join(prefix, 'logs', 'error.log')];
  const child = spawn(nginx, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const deadline = Date.now() + 10_000;
  // Up only when the port accepts AND our nginx is still running (another process may hold the port).
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx on ${port} exited ${child.exitCode}: ${err}`);
    if (await accepts(port)) {
      await new Promise((r) => setTimeout(r, 100));
      if (child.exitCode === null) break;
      continue;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL'); // never leave a server running that nobody tracks
      throw new Error(`nginx on ${port} did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const server: ServerProcess = {
    kind: 'nginx',
    port,
    pid: child.pid!,
    reload: [nginx, ...args, '-s', 'reload'],
    async stop() {
      running.delete(server);
      child.kill('SIGTERM');
      await waitForExit(child, 5000);
    },
  };
  return track(server);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

/** Stops every server process still running. */
export async function stopAllServers(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/** nginx on a free port, trying another when a parallel suite took the one it was given. */
export async function startNginxOnFreePort(prefix: string, dir: string): Promise<ServerProcess> {
  let last: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      return await startNginx(prefix, dir, await freePort());
    } catch (error) {
      last = error;
      if (!/Address already in use|EADDRINUSE/.test(String((error as Error).message))) throw error;
    }
  }
  throw last;
}
