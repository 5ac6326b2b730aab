// Bundles the CLI, the CDK app and the benchmarks into dist/ with esbuild (one file each, source maps on).
// Runs on `npm install` (prepare) so that `certrotor` (npm link / npm install -g) and `npm start` work
// from a clean clone. The CLI's `--version` gets package.json's version and the git commit built from.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const entries = {
  certrotor: 'bin/certrotor.ts',
  app: 'bin/app.ts',
  'bench-probe': 'scripts/bench-probe.ts',
  'bench-inventory': 'scripts/bench-inventory.ts',
  'demo-host': 'lambda/cli/demo/tls-host.ts',
};

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
let commit = '';
try {
  commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  if (commit && dirty) commit += '+changes';
} catch {
  // Not a git checkout (a published package, a copied tree): the version alone.
}

const present = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file)));
await build({
  entryPoints: present,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: process.argv.includes('--quiet') ? 'error' : 'warning',
  define: {
    __CERTROTOR_VERSION__: JSON.stringify(version),
    __CERTROTOR_COMMIT__: JSON.stringify(commit),
  },
  // The CDK libraries are large and only the CDK app uses them; they load from node_modules.
  external: ['aws-cdk-lib', 'constructs', 'cdk-nag', 'esbuild'],
});
