// Bundles the CLI, the CDK app and the benchmarks into dist/ with esbuild (one file each, source maps on).
// Runs on `npm install` (prepare) so that `npx certrotor` and `npm start` work from a clean clone.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const entries = {
  certrotor: 'bin/certrotor.ts',
  app: 'bin/app.ts',
  'bench-probe': 'scripts/bench-probe.ts',
  'bench-inventory': 'scripts/bench-inventory.ts',
  'demo-host': 'lambda/cli/demo/tls-host.ts',
};

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
  // The CDK libraries are large and only the CDK app uses them; they load from node_modules.
  external: ['aws-cdk-lib', 'constructs', 'cdk-nag', 'esbuild'],
});
