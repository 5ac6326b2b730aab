#!/usr/bin/env node
'use strict';
// Launcher: the CLI is bundled by `npm install` (prepare) into dist/certrotor.js. In a checkout
// (`npm link`, `npx certrotor`), a bundle older than the sources is rebuilt first, so an edit is
// never silently ignored; CERTROTOR_NO_REBUILD=1 runs the bundle as it is (with a hint instead).
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const bundle = join(root, 'dist', 'certrotor.js');

/** Newest modification time under the CLI's sources, or 0 where there are none (an installed package). */
function newestSource() {
  let newest = 0;
  const visit = (path) => {
    let stat;
    try {
      stat = statSync(path);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) visit(join(path, entry));
    } else if (path.endsWith('.ts') || path.endsWith('package.json')) {
      newest = Math.max(newest, stat.mtimeMs);
    }
  };
  for (const part of ['lambda', join('bin', 'certrotor.ts'), 'package.json']) visit(join(root, part));
  return newest;
}

function stale() {
  if (!existsSync(join(root, 'lambda')) || !existsSync(join(root, 'scripts', 'build-cli.mjs'))) return false;
  if (!existsSync(bundle)) return true;
  return newestSource() > statSync(bundle).mtimeMs;
}

if (stale()) {
  const canBuild = existsSync(join(root, 'node_modules', 'esbuild'));
  if (process.env.CERTROTOR_NO_REBUILD === '1' || !canBuild) {
    if (!existsSync(bundle)) {
      process.stderr.write(
        `certrotor: ${bundle} is missing: run \`npm install\` (or \`npm run build\`) in ${root}\n`,
      );
      process.exit(1);
    }
    process.stderr.write(
      `certrotor: the sources changed since ${bundle} was built; this runs the old build (rebuild: npm run build in ${root})\n`,
    );
  } else {
    process.stderr.write('certrotor: the sources changed since the last build; rebuilding dist/ first\n');
    const built = spawnSync(process.execPath, [join(root, 'scripts', 'build-cli.mjs'), '--quiet'], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    if (built.status !== 0) {
      process.stderr.write(`certrotor: the rebuild failed (npm run build in ${root} shows why)\n`);
      process.exit(1);
    }
  }
}
require(bundle);
