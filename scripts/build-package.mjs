// What `npm pack` ships besides the CLI bundle (scripts/build-cli.mjs):
// - dist-lib/index.js: the construct library in one file; aws-cdk-lib and constructs stay external
//   (peer dependencies), so the package needs no runtime dependencies (declarations: tsc -p tsconfig.lib.json);
// - dist-handlers/<handler>/index.js: one bundle per Lambda handler, with the settings NodejsFunction
//   uses in a checkout (HANDLER_BUNDLING in lib/constructs/job-functions.ts). An installed package
//   deploys these: no esbuild, Docker or lock file needed on the consumer's side.
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const logLevel = process.argv.includes('--quiet') ? 'error' : 'warning';
const handlers = readdirSync('lambda/handlers')
  .filter((f) => f.endsWith('.ts'))
  .map((f) => f.replace(/\.ts$/, ''));
rmSync('dist-handlers', { recursive: true, force: true });
await Promise.all([
  build({
    entryPoints: ['lib/index.ts'],
    outfile: join('dist-lib', 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    logLevel,
  }),
  ...handlers.map((name) =>
    build({
      entryPoints: [join('lambda', 'handlers', `${name}.ts`)],
      outfile: join('dist-handlers', name, 'index.js'),
      bundle: true,
      platform: 'node',
      target: 'node22',
      format: 'cjs',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      external: ['@aws-sdk/*'],
      mainFields: ['module', 'main'],
      logLevel,
    }),
  ),
]);
