/**
 * `npx cdk synth` runs dist/app.js (cdk.json). A bad configuration is the user's input: every problem
 * with its path, one exit code, no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const APP = join(__dirname, '..', '..', 'dist', 'app.js');

function synth(configFile: string, context: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [APP], {
    encoding: 'utf8',
    env: {
      ...process.env,
      CERTROTOR_CONFIG: configFile,
      CDK_OUTDIR: join(configFile, '..', 'cdk.out'),
      CDK_CONTEXT_JSON: JSON.stringify(context),
    },
    timeout: 60_000,
  });
  return { status: result.status, stderr: result.stderr, stdout: result.stdout };
}

describe('the CDK app with a bad configuration', () => {
  it('reports every problem with its path and exits 1 without a stack trace', async () => {
    const dir = await temp.make('cdk-app');
    const file = join(dir, 'certrotor.yaml');
    writeFileSync(file, 'version: 1\nenvironments: []\ncertificates: [{ name: x }]\n');

    const run = synth(file);

    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      `certrotor: ${file}: 3 configuration problems:`,
      '  environments: must have at least 1 item',
      '  certificates[0]: needs a commonName, dnsNames or ipAddresses',
      '  certificates[0].issuer: is required',
    ]);
  });

  it('names a configuration file it cannot read', async () => {
    const dir = await temp.make('cdk-app');

    const run = synth(join(dir, 'missing.yaml'));

    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(`certrotor: ${join(dir, 'missing.yaml')}: cannot read (ENOENT)`);
  });

  it('refuses two different configuration files (context and CERTROTOR_CONFIG) in one line', async () => {
    const dir = await temp.make('cdk-app');
    const fromEnvironment = join(dir, 'prod.yaml');
    const fromContext = join(dir, 'staging.yaml');

    const run = synth(fromEnvironment, { 'certrotor:configFile': fromContext });

    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      `certrotor: two configuration files given: -c certrotor:configFile=${fromContext} and CERTROTOR_CONFIG=${fromEnvironment}; keep one`,
    );
  });
});
