/**
 * What `certrotor --version` prints. The bundle gets the version from package.json and the git
 * commit at build time (scripts/build-cli.mjs defines both); run from the sources (tests, ts-node),
 * the version is read from package.json and the commit is unknown.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

declare const __CERTROTOR_VERSION__: string | undefined;
declare const __CERTROTOR_COMMIT__: string | undefined;

function builtVersion(): string | undefined {
  return typeof __CERTROTOR_VERSION__ === 'string' ? __CERTROTOR_VERSION__ : undefined;
}

function builtCommit(): string | undefined {
  return typeof __CERTROTOR_COMMIT__ === 'string' && __CERTROTOR_COMMIT__ !== ''
    ? __CERTROTOR_COMMIT__
    : undefined;
}

function sourceVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** `0.1.0 (commit 3a5377c)`, or `0.1.0` when the build had no git checkout. */
export function versionText(): string {
  const version = builtVersion() ?? sourceVersion();
  const commit = builtCommit();
  return commit ? `${version} (commit ${commit})` : version;
}
