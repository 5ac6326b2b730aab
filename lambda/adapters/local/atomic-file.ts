/**
 * Crash-safe file writes and cross-process item locks for the local adapters.
 *
 * A write goes to a temporary file in the same directory, is fsynced, renamed over the target and
 * the directory is fsynced: a reader sees the old file or the new one, never a torn one. Temporary
 * files start with `.` and end with `.tmp`, so readers that list a directory can skip them.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { chmod, chown, link, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { OperationError } from '../../domain/errors';

export interface AtomicWriteOptions {
  /** File mode of the written file. @default 0o600 */
  readonly mode?: number;
  /** Owner to give the file before it appears under its name (needs the privilege to chown). */
  readonly uid?: number;
  readonly gid?: number;
}

export function isTemporaryName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp');
}

/**
 * Writes `data` to `path` atomically (temp file + fsync + rename + directory fsync).
 *
 * The temporary file is created readable by its creator only, given its owner and group, then its
 * final mode, and only then receives `data`: permissions are checked when a file is opened, so a
 * file that was briefly open to the wrong group could be opened then and read once the data is in.
 * The mode is never wider than `mode` at any instant, whatever `mode` is.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const mode = options.mode ?? 0o600;
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode & 0o600);
  try {
    if (options.uid !== undefined || options.gid !== undefined)
      await handle.chown(options.uid ?? -1, options.gid ?? -1);
    // Sets the mode exactly: the umask may have narrowed it at creation, and chown may clear bits.
    await handle.chmod(mode);
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dirname(path));
}

/**
 * Gives an existing file `mode` and owner in place without ever widening its access on the way:
 * first narrowed to what both the old and the new mode allow, then the new owner and group, then
 * the new mode. False when nothing needed changing.
 */
export async function settleFileMode(
  path: string,
  options: AtomicWriteOptions & { readonly mode: number },
): Promise<boolean> {
  const current = await stat(path);
  const uidChanges = options.uid !== undefined && options.uid !== current.uid;
  const gidChanges = options.gid !== undefined && options.gid !== current.gid;
  if ((current.mode & 0o7777) === options.mode && !uidChanges && !gidChanges) return false;
  await chmod(path, current.mode & options.mode & 0o777);
  if (uidChanges || gidChanges) await chown(path, options.uid ?? -1, options.gid ?? -1);
  await chmod(path, options.mode);
  return true;
}

/** Makes a rename or unlink in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await handle.close();
  }
}

/** Reads a file, or undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

export interface FileLockOptions {
  /** Give up waiting for a held lock after this long. @default 10000 */
  readonly timeoutMs?: number;
  /**
   * A lock older than this is taken to be left by a crashed process. Locks are held for the few
   * milliseconds of a read-check-write, so a minute is far beyond any live holder. @default 60000
   */
  readonly staleMs?: number;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
}

/**
 * Takes an exclusive lock file (`open(path, 'wx')`), runs `fn`, releases it. Exclusive creation is
 * atomic across processes, so two processes racing for the same lock cannot both hold it. A lock
 * whose owner process is gone (same host) or that is older than `staleMs` is broken by renaming it
 * aside and checking that what was moved is the lock judged stale.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 60_000;
  const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(12).toString('hex') };
  const ownerText = JSON.stringify(owner);
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  for (;;) {
    if (await tryCreate(lockPath, ownerText)) break;
    if (await breakIfStale(lockPath, staleMs)) continue;
    if (Date.now() >= deadline) {
      const holder = await readFileIfExists(lockPath);
      throw new OperationError(
        'lock',
        lockPath,
        `still held after ${timeoutMs} ms${holder ? ` by ${describeOwner(holder)}` : ''}`,
      );
    }
    await sleep(wait + Math.random() * wait);
    wait = Math.min(wait * 2, 50);
  }
  try {
    return await fn();
  } finally {
    // Release only our own lock: if it was (wrongly) broken and retaken, leave the new holder's.
    const current = await readFileIfExists(lockPath);
    if (current === ownerText) await unlink(lockPath).catch(() => undefined);
  }
}

/**
 * Creates the lock with its owner already in it: written to a private temporary file, then linked to
 * the lock's name (link never overwrites, so exactly one racer wins). A holder killed at any point
 * leaves no lock or a lock naming it, never an empty one that would look alive until `staleMs`.
 */
async function tryCreate(lockPath: string, ownerText: string): Promise<boolean> {
  const temp = join(dirname(lockPath), `.${basename(lockPath)}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, ownerText, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, lockPath);
    return true;
  } catch (error) {
    if (isErrno(error, 'EEXIST')) return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function breakIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  let content: string | undefined;
  let mtimeMs: number;
  try {
    content = await readFile(lockPath, 'utf8');
    mtimeMs = (await stat(lockPath)).mtimeMs;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return true; // released meanwhile: try again at once
    throw error;
  }
  if (!isStale(content, mtimeMs, staleMs)) return false;
  const aside = `${lockPath}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(lockPath, aside);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return true;
    throw error;
  }
  const moved = await readFileIfExists(aside);
  if (moved !== content) {
    // Another process broke the stale lock and took a fresh one between our read and rename: put
    // it back unless the slot was taken again (link never overwrites).
    await link(aside, lockPath).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
  return true;
}

function isStale(content: string, mtimeMs: number, staleMs: number): boolean {
  if (Date.now() - mtimeMs > staleMs) return true;
  const owner = parseOwner(content);
  // An empty or partial file is a holder between create and write: young, so not stale.
  if (!owner || owner.host !== hostname()) return false;
  return !processExists(owner.pid);
}

function parseOwner(content: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(content) as Partial<LockOwner>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string')
      return parsed as LockOwner;
  } catch {
    // not yet written
  }
  return undefined;
}

function describeOwner(content: string): string {
  const owner = parseOwner(content);
  return owner ? `process ${owner.pid} on ${owner.host}` : 'an unknown process';
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isErrno(error, 'ESRCH');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Creates `dir` (and parents) and sets its mode exactly: the umask can narrow modes at creation. */
export async function makeDirectory(dir: string, mode: number): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
  await chmod(dir, mode);
}

/**
 * Creates `dir` (and parents) with `mode` when missing and leaves an existing one as it is: a
 * server's TLS directory belongs to its administrator, who may have narrowed it on purpose.
 */
export async function ensureDirectory(dir: string, mode: number): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode });
  if (created !== undefined) await chmod(dir, mode);
}
