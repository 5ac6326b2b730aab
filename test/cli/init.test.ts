import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type * as net from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import * as tls from 'node:tls';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { buildCertificate } from '../builders/certificates';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const servers: net.Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function certrotor(cwd: string, argv: string[], input?: CliContext['input']): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: {},
    cwd,
    clock: () => new Date(),
    exitCode: 0,
    ...(input ? { input, prompt: (text: string) => out.push(text) } : {}),
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function loopbackTlsEndpoint(): Promise<number> {
  const served = await buildCertificate({
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    daysLeft: 60,
  });
  const server = tls.createServer({ cert: served.certificatePem, key: served.privateKey.reveal() });
  server.on('tlsClientError', () => undefined);
  server.on('secureConnection', (socket) => socket.on('error', () => undefined));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('certrotor init', () => {
  it.each(['local', 'aws', 'upstream'])(
    'writes a configuration from the %s template that validates',
    async (template) => {
      const cwd = await temp.make('init');

      const init = await certrotor(cwd, ['init', '--template', template]);
      const validate = await certrotor(cwd, ['config', 'validate']);

      expect(init.code).toBe(0);
      expect(init.out).toMatch(
        new RegExp(
          `^wrote certrotor\\.yaml \\(template ${template}\\)\\nnext:\\n  certrotor config validate\\n`,
        ),
      );
      expect(validate.err).toBe('');
      expect(validate.code).toBe(0);
      expect(validate.out).toMatch(/^ok: /);
    },
  );

  it('writes a local configuration on which run issues, delivers and scans a real loopback TLS endpoint, exiting 0', async () => {
    const cwd = await temp.make('init-run');
    const port = await loopbackTlsEndpoint();

    const init = await certrotor(cwd, [
      'init',
      '--template',
      'local',
      '--dir',
      'site',
      '--endpoint',
      `127.0.0.1:${port}`,
    ]);
    const validate = await certrotor(cwd, ['config', 'validate', '--config', 'site/certrotor.yaml']);
    const run = await certrotor(cwd, ['run', '--config', 'site/certrotor.yaml']);
    const status = await certrotor(cwd, ['status', '--config', 'site/certrotor.yaml']);

    expect(init.code).toBe(0);
    expect(init.out).toContain('certrotor run --config site/certrotor.yaml');
    expect(validate.code).toBe(0);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/rotation app v[0-9a-f]+: SUCCEEDED/);
    expect(run.out).not.toMatch(/^failures/m);
    expect(run.out).not.toContain('PRIVATE KEY');
    expect(existsSync(join(cwd, 'site/tls/app/fullchain.pem'))).toBe(true);
    expect(status.code).toBe(0);
    expect(status.out).toContain(`127.0.0.1:${port}`);
  });

  it('refuses to overwrite a configuration unless --force is given', async () => {
    const cwd = await temp.make('init-force');
    await writeFile(join(cwd, 'certrotor.yaml'), 'version: 1\n');

    const refused = await certrotor(cwd, ['init', '--template', 'upstream']);
    const forced = await certrotor(cwd, ['init', '--template', 'upstream', '--force']);

    expect(refused.code).toBe(1);
    expect(refused.err).toBe(
      `certrotor: ${join(cwd, 'certrotor.yaml')}: already exists; pass --force to overwrite it`,
    );
    expect(forced.code).toBe(0);
    expect(readFileSync(join(cwd, 'certrotor.yaml'), 'utf8')).toContain('upstreams:');
  });

  it.each([
    [['--template', 'gcp'], 'certrotor: --template gcp: expected one of local, aws, upstream'],
    [['--endpoint', 'no-port'], 'certrotor: --endpoint no-port: expected host:port'],
    [
      ['--name', 'Bad Name'],
      'certrotor: --name Bad Name: expected lower-case letters, digits and dashes (at most 63)',
    ],
  ])('refuses %j with one line', async (flags, message) => {
    const cwd = await temp.make('init-bad');

    const result = await certrotor(cwd, ['init', ...flags]);

    expect(result.code).toBe(1);
    expect(result.err).toBe(message);
    expect(existsSync(join(cwd, 'certrotor.yaml'))).toBe(false);
  });

  it('asks on a terminal and keeps the defaults the user accepts with Enter', async () => {
    const cwd = await temp.make('init-tty');
    const input = Object.assign(new PassThrough(), { isTTY: true });
    input.end('upstream\npayments.example.net:8443\n\nconf\n');

    const result = await certrotor(cwd, ['init'], input);
    const validate = await certrotor(cwd, ['config', 'validate', '--config', 'conf/certrotor.yaml']);

    expect(result.code).toBe(0);
    expect(result.out).toContain('Template: local (CA + files + endpoint), aws, or upstream [local]: ');
    expect(result.out).toContain('Upstream name [vendor]: ');
    const written = readFileSync(join(cwd, 'conf/certrotor.yaml'), 'utf8');
    expect(written).toContain('  - name: vendor\n');
    expect(written).toContain('      - host: payments.example.net\n        port: 8443\n');
    expect(validate.code).toBe(0);
  });

  it('uses flags, not questions, when stdin is not a terminal', async () => {
    const cwd = await temp.make('init-pipe');
    const input = new PassThrough();
    input.end('aws\n');

    const result = await certrotor(cwd, ['init'], input);

    expect(result.code).toBe(0);
    expect(result.out).not.toContain('Template:');
    expect(readFileSync(join(cwd, 'certrotor.yaml'), 'utf8')).toContain('kind: local-ca');
  });
});
