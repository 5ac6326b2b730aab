// The published declarations: keeps the .d.ts files `<outDir>/lib/index.d.ts` reaches through relative
// imports and deletes the others; fails (one line per problem) when a reached declaration imports a
// package other than the peer dependencies (aws-cdk-lib, constructs) or a relative file that has no
// declaration. Run by scripts/build-package.mjs after tsc -p tsconfig.lib.json; also a command:
//   node scripts/prune-declarations.mjs <outDir>
import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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
export function pruneDeclarations(outDir) {
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

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: node scripts/prune-declarations.mjs <outDir>');
    process.exit(2);
  }
  try {
    pruneDeclarations(outDir);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}
