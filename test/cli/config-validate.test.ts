import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { buildConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const EXAMPLE = join(__dirname, '../../config/certrotor.example.yaml');

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function certrotor(cwd: string, env: NodeJS.ProcessEnv, ...argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env,
    cwd,
    clock: () => new Date('2026-03-01T12:00:00Z'),
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('certrotor config validate', () => {
  it('prints ok with a census for a valid file given with --config', async () => {
    // Prepare
    const cwd = await temp.make('cli');

    // Act
    const run = await certrotor(cwd, {}, 'config', 'validate', '--config', EXAMPLE);

    // Assess
    expect(run.code).toBe(0);
    expect(run.out).toBe(
      `ok: ${EXAMPLE} (3 environments, 3 managed certificates, 3 endpoints, 4 hosts, 2 upstreams, 2 channels)`,
    );
    expect(run.err).toBe('');
  });

  it('reads ./certrotor.yaml when no file is given', async () => {
    // Prepare
    const cwd = await temp.make('cli');
    await writeFile(join(cwd, 'certrotor.yaml'), stringify(buildConfig()));

    // Act
    const run = await certrotor(cwd, {}, 'config', 'validate');

    // Assess
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^ok: .*certrotor\.yaml \(2 environments, 2 managed certificates/);
  });

  it('prefers CERTROTOR_CONFIG over ./certrotor.yaml', async () => {
    // Prepare
    const cwd = await temp.make('cli');
    await writeFile(join(cwd, 'certrotor.yaml'), 'version: 7\n');
    await writeFile(join(cwd, 'other.yaml'), stringify(buildConfig()));

    // Act
    const run = await certrotor(cwd, { CERTROTOR_CONFIG: 'other.yaml' }, 'config', 'validate');

    // Assess
    expect(run.code).toBe(0);
    expect(run.out).toContain(join(cwd, 'other.yaml'));
  });

  it('prints every problem with its path, in file order, and exits non-zero', async () => {
    // Prepare
    const cwd = await temp.make('cli');
    const file = join(cwd, 'bad.yaml');
    await writeFile(
      file,
      stringify(
        buildConfig((c) => {
          c.upstreams[0].endpoints[0].port = 70000;
          c.certificates[0].issuer = 'missing';
          c.typo = 1;
        }),
      ),
    );

    // Act
    const run = await certrotor(cwd, {}, 'config', 'validate', '--config', file);

    // Assess
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err.split('\n')).toEqual([
      `certrotor: ${file}: 3 configuration problems:`,
      `  ${file}:38:13: certificates[0].issuer: issuer "missing" is not defined (defined: local, vendor)`,
      `  ${file}:51:15: upstreams[0].endpoints[0].port: must be 1-65535`,
      `  ${file}:70:1: typo: unknown key`,
    ]);
  });

  it('prints problems as JSON with --json', async () => {
    // Prepare
    const cwd = await temp.make('cli');
    const file = join(cwd, 'bad.yaml');
    await writeFile(file, stringify(buildConfig((c) => (c.version = 2))));

    // Act
    const run = await certrotor(cwd, {}, 'config', 'validate', '--config', file, '--json');

    // Assess
    expect(run.code).toBe(1);
    expect(JSON.parse(run.out)).toEqual({
      schema: 'certrotor.config-validate/1',
      ok: false,
      file,
      backend: 'local',
      problems: ['version: must be 1'],
      locations: [{ problem: 'version: must be 1', line: 1, column: 10 }],
    });
  });

  it('says where to put a configuration when there is none', async () => {
    // Prepare
    const cwd = await temp.make('cli');

    // Act
    const run = await certrotor(cwd, {}, 'config', 'validate');

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toBe(
      'certrotor: no configuration file: pass --config FILE, set CERTROTOR_CONFIG, or create ./certrotor.yaml (examples: config/certrotor.local.example.yaml for the CLI on its own, config/certrotor.example.yaml for a deployment)',
    );
  });

  it('names a file that does not parse, with line and column, in one line', async () => {
    // Prepare
    const cwd = await temp.make('cli');
    const file = join(cwd, 'broken.yaml');
    await writeFile(file, 'version: 1\nenvironments: [\n');

    // Act
    const run = await certrotor(cwd, {}, 'config', 'validate', '--config', file);

    // Assess
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/^certrotor: .*broken\.yaml:\d+:\d+: not valid YAML or JSON: .+$/);
    expect(run.err).not.toContain('\n');
  });
});
