/**
 * `certrotor config validate --backend` through the built binary (node dist/certrotor.js), as a user
 * runs it: every kind the backend cannot run is one line with its path and what to use instead, the
 * exit code is non-zero, and there is no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';

const ROOT = join(__dirname, '..', '..');
const temp = useTempDirs();
const PCA =
  'arn:aws:acm-pca:eu-west-1:111111111111:certificate-authority/0a1b2c3d-1111-2222-3333-444455556666';

function certrotor(...argv: string[]) {
  const result = spawnSync(process.execPath, [join(ROOT, 'dist', 'certrotor.js'), ...argv], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
    timeout: 60_000,
  });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

beforeAll(() => {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-cli.mjs'), '--quiet'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`building the CLI failed: ${build.stderr}`);
}, 180_000);

describe('certrotor config validate --backend (the built binary)', () => {
  it('refuses every kind the deployed service cannot run, one line each with its path, and exits non-zero', async () => {
    // Prepare: a local CA, a files destination and a files source, as a laptop configuration has them
    const file = join(await temp.make('validate-backend'), 'certrotor.yaml');
    await writeFile(
      file,
      stringify(
        buildConfig((c) => {
          c.sources = [{ name: 'pems', kind: 'files', environment: 'staging', paths: ['/etc/ssl/a.pem'] }];
        }),
      ),
    );

    // Act
    const run = certrotor('config', 'validate', '--backend', 'aws', '--config', file);

    // Assess
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err.trim().split('\n')).toEqual([
      `certrotor: ${file}: 3 configuration problems:`,
      expect.stringMatching(
        /:\d+:\d+: issuers\[0\]\.kind: "local-ca" cannot run in the deployed service \(aws backend\); use acm-pca$/,
      ),
      expect.stringMatching(
        /:\d+:\d+: destinations\[0\]\.kind: "files" cannot run in the deployed service \(aws backend\); use agent \(hosts pull their certificates\) or ssm$/,
      ),
      expect.stringMatching(
        /:\d+:\d+: sources\[0\]\.kind: "files" cannot run in the deployed service \(aws backend\)/,
      ),
    ]);
  });

  it('accepts the same file for the local backend, which runs every kind in it', async () => {
    // Prepare
    const file = join(await temp.make('validate-backend'), 'certrotor.yaml');
    await writeFile(file, stringify(buildConfig()));

    // Act
    const run = certrotor('config', 'validate', '--backend', 'local', '--config', file);

    // Assess
    expect([run.code, run.err]).toEqual([0, '']);
    expect(run.out).toMatch(/^ok: /);
  });

  it('validates for the backend the file declares when --backend is not given', async () => {
    // Prepare
    const file = join(await temp.make('validate-backend'), 'certrotor.yaml');
    await writeFile(
      file,
      stringify(
        buildConfig((c) => {
          c.backend = 'aws';
          c.issuers.push({ name: 'pca', kind: 'acm-pca', certificateAuthorityArn: PCA });
          c.certificates[0].issuer = 'pca';
          c.issuers.splice(0, 1);
          c.destinations = [];
          c.certificates[0].destinations = [];
          c.upstreams[0].consumers.destinations = [];
        }),
      ),
    );

    // Act
    const declared = certrotor('config', 'validate', '--config', file);
    const local = certrotor('config', 'validate', '--backend', 'local', '--config', file);

    // Assess
    expect([declared.code, declared.err]).toEqual([0, '']);
    expect(local.code).toBe(1);
    expect(local.err).toContain(
      'issuers[1].kind: "acm-pca" cannot run in the local backend (the CLI without --backend aws); use local-ca, or run the CLI with --backend aws',
    );
  });

  it('names a backend it does not know', async () => {
    // Prepare
    const file = join(await temp.make('validate-backend'), 'certrotor.yaml');
    await writeFile(file, stringify(buildConfig()));

    // Act
    const run = certrotor('config', 'validate', '--backend', 'lambda', '--config', file);

    // Assess
    expect([run.code, run.err.trim()]).toEqual([1, 'certrotor: --backend lambda: must be local or aws']);
  });
});
