/**
 * Bundles a TypeScript module to one CommonJS file that plain `node` child processes can require:
 * tests that need several real processes (lock races, crash simulation) use it.
 */
import { buildSync } from 'esbuild';
import { join } from 'node:path';

export function bundleForChildProcess(entry: string, outDir: string, name = 'bundle.cjs'): string {
  const outfile = join(outDir, name);
  buildSync({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'silent',
  });
  return outfile;
}
