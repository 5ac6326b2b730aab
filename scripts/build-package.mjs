// What `npm pack` ships besides the CLI bundle (scripts/build-cli.mjs):
// - dist-lib/index.js: the construct library in one file; aws-cdk-lib and constructs stay external
//   (peer dependencies), so the package needs no runtime dependencies (declarations: tsc -p tsconfig.lib.json);
// - dist-handlers/<handler>/index.js: one bundle per Lambda handler, with the settings NodejsFunction
//   uses in a checkout (HANDLER_BUNDLING in lib/constructs/job-functions.ts). An installed package
//   deploys these: no esbuild, Docker or lock file needed on the consumer's side;
// - dist-lib/lib/**.d.ts: the declarations tsc emitted (tsconfig.lib.json, stripInternal), pruned to
//   those the public entry (lib/index.d.ts) reaches. tsc emits one for every file the library imports,
//   handlers' and the configuration schema's included, and those import zod, a devDependency bundled
//   into the JavaScript: shipped, they would be dead weight that names a package the consumer does not
//   have. The public surface reaches none of them (the configuration's type is the generated, zod-free
//   CertRotorConfiguration; the construct's internals are @internal), and the build fails if a reached
//   declaration imports anything but aws-cdk-lib and constructs (the peer dependencies), so a consumer
//   compiling with skipLibCheck: false needs nothing else (scripts/prune-declarations.mjs). Declaring zod
//   a dependency instead would make every install download a validation library that no installed code
//   runs (it is bundled).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pruneDeclarations } from './prune-declarations.mjs';

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

try {
  pruneDeclarations('dist-lib');
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
}
