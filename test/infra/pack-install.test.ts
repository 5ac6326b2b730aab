/**
 * The package as a user installs it: `npm pack` (which builds the construct library, its declarations
 * and the handler bundles), the tarball installed with npm into a fresh CDK app in a temporary
 * directory (offline; the peer dependencies aws-cdk-lib and constructs come from this repository's
 * node_modules), the app synthesized with real asset staging, and the CLI run from the same tarball.
 * A TypeScript app in the same directory gives the typed `config` prop: tsc (this repository's) compiles
 * it against the installed declarations with `skipLibCheck: false` (so every declaration it reaches is
 * checked: they need only the peer dependencies and @types/node, not zod, which is a devDependency
 * bundled into the JavaScript) and the compiled app synthesizes, and a configuration with a wrong kind
 * of value is a compile error naming the key.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const root = join(__dirname, '..', '..');

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', ...env },
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const CONSUMER_APP = `
const { App } = require('aws-cdk-lib');
const { CertRotorStack, readConfigurationFile } = require('certrotor');

const app = new App();
new CertRotorStack(app, 'Consumer', {
  configuration: readConfigurationFile(process.env.CERTROTOR_CONFIG),
  configurationName: 'certrotor.yaml',
});
app.synth();
`;

// The compiler options `cdk init app --language typescript` sets up (without jest), but with every
// library declaration checked.
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['es2022'],
    strict: true,
    noImplicitReturns: true,
    isolatedModules: true,
    skipLibCheck: false,
    types: ['node'],
    outDir: 'build',
  },
};

const TYPED_APP = `
import { App } from 'aws-cdk-lib';
import { CertRotorStack, type CertRotorConfiguration } from 'certrotor';

const config: CertRotorConfiguration = {
  version: 1,
  environments: [{ name: 'prod' }],
  endpoints: [{ name: 'api', host: 'api.example.com', port: 443, environment: 'prod' }],
  notifications: {
    channels: [{ name: 'alerts', kind: 'slack', webhook: { parameter: '/certrotor/slack/alerts' } }],
  },
};

const app = new App();
new CertRotorStack(app, 'Typed', { config });
app.synth();
`;

// The port as a string, and a channel kind certrotor does not have.
const MISTYPED_APP = `
import { App } from 'aws-cdk-lib';
import { CertRotorStack } from 'certrotor';

new CertRotorStack(new App(), 'Mistyped', {
  config: {
    version: 1,
    environments: [{ name: 'prod' }],
    endpoints: [{ name: 'api', host: 'api.example.com', port: '443', environment: 'prod' }],
    notifications: { channels: [{ name: 'alerts', kind: 'teams', webhook: {} }] },
  },
});
`;

describe('the packed certrotor package', () => {
  jest.setTimeout(180_000);

  it('installs from its tarball into a fresh CDK app that synthesizes with the pre-built handler bundles, type-checks a typed config with tsc, every declaration it reaches included (no zod needed; a wrong type is a compile error), and runs the CLI', async () => {
    const dir = await temp.make('pack-install');
    const packed = run('npm', ['pack', '--pack-destination', dir, '--json'], root);
    expect({ status: packed.status, stderr: packed.status === 0 ? '' : packed.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    const [manifest] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    const files = manifest!.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'dist-lib/index.js',
        'dist-lib/lib/index.d.ts',
        'dist-handlers/probe/index.js',
        'dist/certrotor.js',
        'bin/certrotor.js',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // Only the public entry's declarations ship (the handlers' and the configuration schema's import zod).
    expect(files.filter((f) => f.endsWith('.d.ts') && !f.startsWith('dist-lib/lib/'))).toEqual([]);

    const app = join(dir, 'app');
    run('mkdir', ['-p', app], dir);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    );
    writeFileSync(join(app, 'app.js'), CONSUMER_APP);
    writeFileSync(join(app, 'certrotor.yaml'), readFileSync(join(root, 'config', 'certrotor.example.yaml')));
    const installed = run(
      'npm',
      [
        'install',
        '--offline',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(dir, manifest!.filename),
        join(root, 'node_modules', 'aws-cdk-lib'),
        join(root, 'node_modules', 'constructs'),
        join(root, 'node_modules', '@types', 'node'),
      ],
      app,
    );
    expect({ status: installed.status, stderr: installed.status === 0 ? '' : installed.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules', 'certrotor', 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
      dependencies?: Record<string, string>;
      private?: boolean;
    };
    expect(pkg).toMatchObject({
      peerDependencies: { 'aws-cdk-lib': expect.any(String), constructs: expect.any(String) },
    });
    expect(pkg.private).toBeUndefined();

    const outdir = join(app, 'cdk.out');
    const synth = run(process.execPath, ['app.js'], app, {
      CDK_OUTDIR: outdir,
      CERTROTOR_CONFIG: join(app, 'certrotor.yaml'),
    });
    expect({ status: synth.status, stderr: synth.status === 0 ? '' : synth.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    const template = JSON.parse(readFileSync(join(outdir, 'Consumer.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')).toHaveLength(
      8,
    );
    // Every function's asset holds the pre-built bundle and the configuration it reads at cold start.
    const assets = JSON.parse(readFileSync(join(outdir, 'Consumer.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
    };
    const directories = Object.values(assets.files).filter((a) => a.source.packaging === 'zip');
    expect(directories).toHaveLength(8);
    for (const { source } of directories)
      expect(readdirSync(join(outdir, source.path)).sort()).toEqual([
        'certrotor-config.json',
        'index.js',
        'index.js.map',
      ]);

    // The typed config prop: compiled by tsc against the installed declarations, then synthesized.
    // Every installed declaration imports only relative files and the peer dependencies.
    const declarations = readdirSync(join(app, 'node_modules', 'certrotor'), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.d.ts'));
    expect(declarations).toContain(join('dist-lib', 'lib', 'index.d.ts'));
    const imported = declarations.flatMap((f) =>
      [
        ...readFileSync(join(app, 'node_modules', 'certrotor', f), 'utf8').matchAll(
          /(?:from|import\()\s*['"]([^'"]+)['"]/g,
        ),
      ].map((m) => m[1]!),
    );
    expect([...new Set(imported.filter((s) => !s.startsWith('.')))].sort()).toEqual([
      'aws-cdk-lib',
      'constructs',
    ]);

    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    writeFileSync(join(app, 'typed-app.ts'), TYPED_APP);
    writeFileSync(join(app, 'mistyped-app.ts'), MISTYPED_APP);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files: ['typed-app.ts'] }));
    writeFileSync(
      join(app, 'tsconfig.mistyped.json'),
      JSON.stringify({
        ...TSCONFIG,
        files: ['mistyped-app.ts'],
        compilerOptions: { ...TSCONFIG.compilerOptions, noEmit: true },
      }),
    );
    const compiled = run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
    expect({ status: compiled.status, output: compiled.stdout + compiled.stderr }).toEqual({
      status: 0,
      output: '',
    });
    const typedOut = join(app, 'cdk.typed.out');
    const typedSynth = run(process.execPath, [join('build', 'typed-app.js')], app, { CDK_OUTDIR: typedOut });
    expect({ status: typedSynth.status, stderr: typedSynth.status === 0 ? '' : typedSynth.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    const typedTemplate = JSON.parse(readFileSync(join(typedOut, 'Typed.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    expect(
      Object.values(typedTemplate.Resources).filter((r) => r.Type === 'AWS::Lambda::Function').length,
    ).toBeGreaterThan(0);
    const mistyped = run(process.execPath, [tsc, '-p', 'tsconfig.mistyped.json'], app);
    expect(mistyped.status).not.toBe(0);
    const errors = mistyped.stdout.split('\n').filter((l) => l.startsWith('mistyped-app.ts('));
    expect(errors.join('\n')).toMatch(/error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(errors.join('\n')).toMatch(/error TS2322: Type '"teams"' is not assignable to type '"slack"'/);

    const cli = run(
      process.execPath,
      [join(app, 'node_modules', 'certrotor', 'bin', 'certrotor.js'), '--help'],
      app,
    );
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('Usage: certrotor');
    expect(existsSync(join(app, 'node_modules', '.bin', 'certrotor'))).toBe(true);
  });
});
