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
//   compiling with skipLibCheck: false needs nothing else. Declaring zod a dependency instead would
//   make every install download a validation library that no installed code runs (it is bundled).
import { build } from 'esbuild';
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

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

/** The packages a published declaration may import: the peer dependencies. */
const DECLARATION_IMPORTS = /^(aws-cdk-lib(\/.*)?|constructs)$/;

/** Every `.d.ts` under `dir`. */
function declarationFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** The module specifiers a declaration file imports or re-exports (static and `import('…')` types). */
function specifiers(file) {
  const text = readFileSync(file, 'utf8');
  const found = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?\bfrom\s+['"]([^'"]+)['"]/g))
    found.push(m[1]);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) found.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1]);
  return found;
}

/** Keeps the declarations `dist-lib/lib/index.d.ts` reaches, deletes the others (see the header). */
function pruneDeclarations(outDir) {
  const entry = resolve(outDir, 'lib', 'index.d.ts');
  if (!existsSync(entry)) return;
  const reached = new Set();
  const pending = [entry];
  const problems = [];
  while (pending.length > 0) {
    const file = pending.pop();
    if (reached.has(file)) continue;
    reached.add(file);
    for (const specifier of specifiers(file)) {
      if (specifier.startsWith('.')) {
        const base = resolve(dirname(file), specifier).replace(/\.js$/, '');
        const target = [`${base}.d.ts`, join(base, 'index.d.ts')].find((f) => existsSync(f));
        if (target) pending.push(target);
        else problems.push(`${relative(outDir, file)} imports ${specifier}, which has no declaration`);
      } else if (!DECLARATION_IMPORTS.test(specifier)) {
        problems.push(
          `${relative(outDir, file)} imports ${specifier}, which is not a peer dependency (keep it off the public surface: @internal)`,
        );
      }
    }
  }
  if (problems.length > 0) throw new Error(`published declarations:\n  ${problems.join('\n  ')}`);
  for (const file of declarationFiles(outDir)) if (!reached.has(resolve(file))) rmSync(file);
  const directories = readdirSync(outDir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(e.parentPath, e.name))
    .sort((a, b) => b.length - a.length);
  for (const directory of directories) if (readdirSync(directory).length === 0) rmdirSync(directory);
}

pruneDeclarations('dist-lib');
