// Bundles one benchmark (scripts/bench-<name>.ts) into dist/bench-<name>.js, the way build-cli.mjs
// bundles the others, so `npm run bench:<name>` always runs the current source.
//   node scripts/bench-build.mjs rotation
import { build } from 'esbuild';

const name = process.argv[2];
if (!name || !/^[a-z-]+$/.test(name)) {
  console.error('usage: node scripts/bench-build.mjs <name>   (bundles scripts/bench-<name>.ts)');
  process.exit(2);
}
await build({
  entryPoints: { [`bench-${name}`]: `scripts/bench-${name}.ts` },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'error',
  define: { __CERTROTOR_VERSION__: '"bench"', __CERTROTOR_COMMIT__: '""' },
  external: ['aws-cdk-lib', 'constructs', 'cdk-nag', 'esbuild', 'aws-local-stepfunctions'],
});
