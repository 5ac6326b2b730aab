/**
 * Prometheus blackbox_exporter for the benchmarks (bench-probe, bench-sweep): installed from Debian's
 * packages when missing (as root), started on a free loopback port with a `tcp` + TLS module that
 * trusts the bench CA and sends SNI `localhost`, and asked to probe one target over HTTP.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';

export const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';

/** Undefined when the binary is there (installing it if it can); otherwise why it is not. */
export function ensureBlackbox(): string | undefined {
  if (existsSync(BLACKBOX)) return undefined;
  if (process.getuid?.() !== 0)
    return `${BLACKBOX} is missing (apt-get install prometheus-blackbox-exporter)`;
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'prometheus-blackbox-exporter'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 300_000,
    }).status === 0;
  console.log('installing prometheus-blackbox-exporter from Debian packages…');
  if (!install()) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore', timeout: 300_000 });
    if (!install()) return 'apt-get install prometheus-blackbox-exporter failed';
  }
  return existsSync(BLACKBOX) ? undefined : `${BLACKBOX} is still missing after installing`;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function httpGet(
  agent: http.Agent,
  port: number,
  path: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.setTimeout(10_000, () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

export interface Blackbox {
  readonly port: number;
  readonly agent: http.Agent;
  readonly pid: number;
  readonly child: ChildProcess;
}

export async function startBlackbox(dir: string, caFile: string, timeoutSeconds = 5): Promise<Blackbox> {
  const config = join(dir, 'blackbox.yml');
  writeFileSync(
    config,
    [
      'modules:',
      '  tls_connect:',
      '    prober: tcp',
      `    timeout: ${timeoutSeconds}s`,
      '    tcp:',
      '      preferred_ip_protocol: ip4',
      '      tls: true',
      '      tls_config:',
      `        ca_file: ${caFile}`,
      '        server_name: localhost',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const child = spawn(
    BLACKBOX,
    [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const { status } = await httpGet(agent, port, '/-/healthy');
      if (status === 200) return { port, agent, pid: child.pid!, child };
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('blackbox_exporter did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One probe through blackbox_exporter: true when it reports `probe_success 1`. */
export function blackboxProbe(blackbox: Blackbox): (port: number) => Promise<boolean> {
  return async (target) => {
    try {
      const { status, body } = await httpGet(
        blackbox.agent,
        blackbox.port,
        `/probe?module=tls_connect&target=127.0.0.1:${target}`,
      );
      return status === 200 && /^probe_success 1$/m.test(body);
    } catch {
      return false;
    }
  };
}
