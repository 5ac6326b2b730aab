/**
 * `certrotor scan` on the local backend watches the local CA's own certificate: nothing while the CA
 * does not exist (and the scan does not create it), the ordinary expiry finding once it nears expiry.
 * The cases run in order on one state directory.
 */
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalCaIssuer } from '../../lambda/adapters/local/local-ca-issuer';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
let dir: string;
let configFile: string;
let caDirectory: string;

async function certrotor(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: {},
    cwd: dir,
    clock: () => new Date(),
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface ScanJson {
  readonly newFindings: number;
  readonly events: { detailType: string; detail: Record<string, unknown> }[];
  readonly failures: unknown[];
}

beforeAll(async () => {
  dir = await temp.make('issuer-ca-scan');
  caDirectory = join(dir, 'ca');
  configFile = join(dir, 'certrotor.json');
  await writeFile(
    configFile,
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }, { name: 'staging' }],
      issuers: [{ name: 'local', kind: 'local-ca', validity: '10d', directory: caDirectory }],
      destinations: [
        { name: 'web-files', kind: 'files', environment: 'staging', directory: join(dir, 'tls') },
      ],
      certificates: [
        { name: 'api', dnsNames: ['api.example.com'], issuer: 'local', destinations: ['web-files'] },
      ],
      local: { stateDirectory: join(dir, 'state'), events: { stdout: false } },
    }),
  );
});

describe('certrotor scan watching the local CA', () => {
  it('finds nothing to watch before the CA exists, and does not create it', async () => {
    // Act
    const run = await certrotor('scan', '--config', configFile, '--json');

    // Assess
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect((JSON.parse(run.out) as ScanJson).failures).toEqual([]);
    await expect(stat(caDirectory)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('raises Certificate Expiring once for a CA 10 days from expiry, in the environment it signs for', async () => {
    // Prepare: the CA comes into being on its first use, with the configured ten days.
    await new LocalCaIssuer({ directory: caDirectory, caValidityDays: 10 }).caCertificate();

    // Act
    const first = JSON.parse((await certrotor('scan', '--config', configFile, '--json')).out) as ScanJson;
    const second = JSON.parse((await certrotor('scan', '--config', configFile, '--json')).out) as ScanJson;

    // Assess
    expect(first.failures).toEqual([]);
    expect(first.events).toEqual([
      expect.objectContaining({
        detailType: 'Certificate Expiring',
        detail: expect.objectContaining({
          environments: ['staging'],
          summary: expect.stringContaining('CN=certrotor local CA'),
        }),
      }),
    ]);
    expect(JSON.stringify(first.events[0]!.detail)).toContain('issuer:local');
    expect(second.newFindings).toBe(0);
  });

  it('lists the CA certificate in status', async () => {
    // Act
    const run = await certrotor('status', '--config', configFile);

    // Assess
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^staging\s+issuer:local\s+.*\s(9|10)\s/m);
  });
});
