/**
 * How files are installed on a host, from a `files` or `agent` destination's settings: the file
 * names and key mode, and the owner and group resolved on this machine. Shared by the local wiring
 * (files destinations) and the agent (its installer).
 */
import { readFileSync } from 'node:fs';
import type { FileOwner, InstallFileNames } from '../adapters/local/file-destination';
import { type DestinationConfig, keyModeProblem } from '../config/configuration';
import { InvalidInputError } from '../domain/errors';

/**
 * File names and key mode of a `files` or `agent` destination, for FileDestination and FileInstaller.
 * The configuration schema already refuses a key mode readable by others; this names the setting
 * if a configuration built in code slips one through.
 */
export function installLayout(
  d: Pick<Extract<DestinationConfig, { kind: 'files' | 'agent' }>, 'fileNames' | 'keyMode'>,
  where: string,
): { fileNames: InstallFileNames; keyMode: number } {
  const problem = keyModeProblem(d.keyMode);
  if (problem)
    throw new InvalidInputError(`${where}.keyMode: ${problem}; use '0600', or '0640' with a group`);
  return { fileNames: d.fileNames, keyMode: Number.parseInt(d.keyMode, 8) };
}

/**
 * Numeric ids, or names looked up in /etc/passwd and /etc/group of this machine (where the files
 * are written). `where` names the setting in errors, e.g. `destinations.web`.
 */
export function resolveFileOwner(
  user: string | undefined,
  group: string | undefined,
  where: string,
): FileOwner | undefined {
  if (user === undefined && group === undefined) return undefined;
  const uid = user === undefined ? undefined : idOf(user, '/etc/passwd', `${where}.owner`);
  const gid = group === undefined ? undefined : idOf(group, '/etc/group', `${where}.group`);
  return { ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) };
}

function idOf(name: string, file: string, what: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    // fall through to the error below
  }
  const line = text.split('\n').find((l) => l.split(':')[0] === name);
  const id = line?.split(':')[2];
  if (id === undefined || !/^\d+$/.test(id))
    throw new InvalidInputError(`${what} ${name}: not found in ${file}`);
  return Number(id);
}
