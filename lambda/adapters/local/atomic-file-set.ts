/**
 * A host's certificate files that switch from one complete, matching set to another in one atomic
 * step: no reader, crash or kill can ever find the key of one version beside the certificate of
 * another.
 *
 *   <dir>/
 *     cert.pem      -> .certrotor/current/cert.pem       (the configured names, each a relative
 *     key.pem       -> .certrotor/current/key.pem         symlink that never changes once made)
 *     chain.pem     -> .certrotor/current/chain.pem
 *     fullchain.pem -> .certrotor/current/fullchain.pem
 *     previous      -> .certrotor/versions/<id>          (the rollback target, a complete set)
 *     .certrotor/
 *       current     -> versions/<id>                      (THE switch: one rename of a symlink)
 *       versions/<id>/{cert.pem,key.pem,chain.pem,fullchain.pem}
 *
 * `<id>` is the certificate's SHA-256 fingerprint (hex) and a short hash of the whole set, so the
 * same certificate with another chain is another set. A version directory is written into a hidden
 * staging sibling, every file fsynced, read back and its key checked against its certificate, then
 * renamed into place: a version directory is complete or absent. Switching renames a fresh symlink
 * over `current` (then the directory is fsynced), so the configured paths resolve to the old set or
 * the new one, never to a mix. `previous` is switched the same way, and only ever to a version
 * directory that passed the check, so the rollback target is never a mismatched pair. Versions that
 * are neither current nor previous (and staging left by a killed process) are removed after each
 * switch: no old key lingers on the host.
 *
 * Migration: a host whose configured paths are plain files (delivered by hand or by an older
 * certrotor) has its set imported as a version first when it is complete and matching; its paths
 * are then replaced one by one with symlinks resolving to identical bytes, so the host never sees a
 * torn set during migration either, and the imported set is the rollback target of the delivery
 * that follows. An older `previous/` directory is imported the same way (when it matches) and
 * replaced by the symlink.
 *
 * Relative symlinks keep the layout valid when the directory is mounted elsewhere (a container).
 * Directories created here get the host directory's own mode (at most 0755) and the configured
 * owner: nobody can reach the files through them who could not reach the host directory.
 *
 * Callers serialise operations on one directory (FileDestination holds a per-host lock file).
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { chown, lstat, mkdir, readdir, readlink, rename, rm, stat, symlink, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { registerKeyMaterial } from '../../domain/secret';
import { isErrno, readFileIfExists, settleFileMode, syncDirectory, writeFileAtomic } from './atomic-file';

/** What each installed file holds. */
export type InstallFileRole = 'certificate' | 'chain' | 'fullchain' | 'key';
export type InstallFileNames = Readonly<Record<InstallFileRole, string>>;
export type FileSet = Record<InstallFileRole, string>;

export interface FileOwner {
  readonly uid?: number;
  readonly gid?: number;
}

export interface FileSetLayout {
  readonly names: InstallFileNames;
  readonly keyMode: number;
  /** @default 0o644 */
  readonly certificateMode?: number;
}

export const ROLES: readonly InstallFileRole[] = ['key', 'certificate', 'chain', 'fullchain'];
/** The name of the rollback target in the host directory. */
export const PREVIOUS = 'previous';
export const STATE_DIR = '.certrotor';
const CURRENT = 'current';
const VERSIONS = 'versions';

export interface InstallResult {
  /** The set the configured paths resolved to before (undefined on a fresh host). */
  readonly replaced?: FileSet;
  /** The version was installed already: nothing switched, modes and links brought up to date. */
  readonly alreadyInstalled: boolean;
  /** Ids of the current set and the rollback target before the switch, for `restore`. */
  readonly before: { readonly current?: string; readonly previous?: string };
}

export class AtomicFileSet {
  private readonly stateDir: string;
  private readonly versionsDir: string;

  constructor(
    readonly dir: string,
    private readonly layout: FileSetLayout,
    private readonly owner: FileOwner = {},
  ) {
    this.stateDir = join(dir, STATE_DIR);
    this.versionsDir = join(this.stateDir, VERSIONS);
  }

  /** The set the configured paths resolve to now, or undefined without a certificate. */
  read(): Promise<FileSet | undefined> {
    return readSet(this.dir, this.layout.names);
  }

  /** The rollback target, or undefined. */
  readPrevious(): Promise<FileSet | undefined> {
    return readSet(join(this.dir, PREVIOUS), this.layout.names);
  }

  /**
   * Makes `files` the current set (the caller checked that the key matches the certificate; it is
   * checked again on the written bytes). The set replaced becomes the rollback target.
   */
  async install(files: FileSet): Promise<InstallResult> {
    const problem = setProblem(files);
    if (problem) throw new Error(`refusing to install a set whose ${problem}`);
    await this.prepare();
    const before = await this.ids();
    const replaced = await this.read();
    const id = versionId(files);
    const result = { ...(replaced ? { replaced } : {}), before };
    if (before.current === id) {
      await this.settle(id, files);
      await this.linkConfiguredPaths();
      return { ...result, alreadyInstalled: true };
    }
    await this.writeVersion(id, files);
    // previous first: a kill between the two switches leaves previous == current, both complete.
    if (before.current !== undefined)
      await this.switchLink(join(this.dir, PREVIOUS), join(STATE_DIR, VERSIONS, before.current));
    await this.switchLink(join(this.stateDir, CURRENT), join(VERSIONS, id));
    await this.linkConfiguredPaths();
    // Not pruned yet: `restore` may need the rollback target of before; the caller prunes.
    return { ...result, alreadyInstalled: false };
  }

  /**
   * Undoes an `install` whose reload failed: the set it replaced is current again and the rollback
   * target is what it was before that install.
   */
  async restore(before: InstallResult['before']): Promise<void> {
    if (before.current === undefined) return;
    await this.switchLink(join(this.stateDir, CURRENT), join(VERSIONS, before.current));
    if (before.previous !== undefined)
      await this.switchLink(join(this.dir, PREVIOUS), join(STATE_DIR, VERSIONS, before.previous));
    await this.prune();
  }

  /** Makes the rollback target current again (it stays the rollback target). False without one. */
  async rollback(): Promise<boolean> {
    await this.prepare();
    const previous = await this.previousId();
    if (previous === undefined) return false;
    await this.switchLink(join(this.stateDir, CURRENT), join(VERSIONS, previous));
    await this.linkConfiguredPaths();
    await this.prune();
    return true;
  }

  /** Ids of the current set and the rollback target (for `restore`). */
  async ids(): Promise<{ current?: string; previous?: string }> {
    const [current, previous] = await Promise.all([this.currentId(), this.previousId()]);
    return { ...(current ? { current } : {}), ...(previous ? { previous } : {}) };
  }

  /** Removes every version that is neither current nor previous, and staging a kill left behind. */
  async prune(): Promise<void> {
    const keep = new Set([await this.currentId(), await this.previousId()]);
    let entries: string[];
    try {
      entries = await readdir(this.versionsDir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw error;
    }
    for (const entry of entries)
      if (!keep.has(entry)) await rm(join(this.versionsDir, entry), { recursive: true, force: true });
    await syncDirectory(this.versionsDir);
  }

  /** The state directory exists, and plain files (or an older `previous/`) are migrated into versions. */
  private async prepare(): Promise<void> {
    await this.makeDir(this.stateDir);
    await this.makeDir(this.versionsDir);
    await this.migratePrevious();
    if (await this.configuredPathsLinked()) return;
    const plain = await this.read();
    if (!plain || setProblem(plain)) return; // nothing whole to keep: the install replaces the paths
    const id = versionId(plain);
    await this.writeVersion(id, plain);
    await this.switchLink(join(this.stateDir, CURRENT), join(VERSIONS, id));
    // Each path now changes from a file to a link to the same bytes: the set stays whole throughout.
    await this.linkConfiguredPaths();
  }

  /** An older certrotor's `previous/` directory becomes a version (when whole) and the symlink. */
  private async migratePrevious(): Promise<void> {
    const path = join(this.dir, PREVIOUS);
    const info = await lstat(path).catch((error: unknown) => {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    });
    if (!info || info.isSymbolicLink()) return;
    const set = await readSet(path, this.layout.names);
    const aside = join(this.stateDir, `${PREVIOUS}-before-migration-${randomBytes(4).toString('hex')}`);
    if (set && !setProblem(set)) {
      const id = versionId(set);
      await this.writeVersion(id, set);
      await rename(path, aside);
      await this.switchLink(path, join(STATE_DIR, VERSIONS, id));
      await rm(aside, { recursive: true, force: true });
    } else {
      // Not a usable rollback target; kept aside for its administrator, never used.
      await rename(path, aside);
    }
  }

  private async configuredPathsLinked(): Promise<boolean> {
    for (const role of ROLES) {
      const name = this.layout.names[role];
      const target = await readlink(join(this.dir, name)).catch(() => undefined);
      if (target !== join(STATE_DIR, CURRENT, name)) return false;
    }
    return true;
  }

  /** Points each configured path at `current/` (a no-op for a path that already does). */
  private async linkConfiguredPaths(): Promise<void> {
    for (const role of ROLES) {
      const name = this.layout.names[role];
      const target = join(STATE_DIR, CURRENT, name);
      if ((await readlink(join(this.dir, name)).catch(() => undefined)) === target) continue;
      await this.switchLink(join(this.dir, name), target);
    }
  }

  /** Writes a complete, checked version directory unless one with this id exists. */
  private async writeVersion(id: string, files: FileSet): Promise<void> {
    const final = join(this.versionsDir, id);
    const existing = await readSet(final, this.layout.names).catch(() => undefined);
    if (existing && sameSet(existing, files)) {
      await this.settle(id, files);
      return;
    }
    const staging = join(this.versionsDir, `.${id}.${randomBytes(6).toString('hex')}.tmp`);
    await this.makeDir(staging);
    try {
      for (const role of ROLES)
        await writeFileAtomic(join(staging, this.layout.names[role]), files[role], {
          mode: this.modeOf(role),
          ...this.owner,
        });
      const written = await readSet(staging, this.layout.names);
      const problem = written ? setProblem(written) : 'certificate is missing';
      if (problem || !written || !sameSet(written, files))
        throw new Error(
          `the set written to ${staging} does not read back whole: ${problem ?? 'bytes differ'}`,
        );
      if (existing !== undefined || (await exists(final))) {
        // A directory with this id but other bytes (changed by hand): set aside, replaced.
        await rename(final, join(this.versionsDir, `.${id}.${randomBytes(6).toString('hex')}.old.tmp`));
      }
      await rename(staging, final);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    await syncDirectory(this.versionsDir);
  }

  /** Modes and owners of an existing version's files as configured (never widened on the way). */
  private async settle(id: string, files: FileSet): Promise<void> {
    for (const role of ROLES) {
      const path = join(this.versionsDir, id, this.layout.names[role]);
      const options = { mode: this.modeOf(role), ...this.owner };
      try {
        await settleFileMode(path, options);
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
        await writeFileAtomic(path, files[role], options);
      }
    }
  }

  /** Replaces `path` with a symlink to `target` in one rename, then makes it durable. */
  private async switchLink(path: string, target: string): Promise<void> {
    const dir = join(path, '..');
    const temp = join(dir, `.${randomBytes(6).toString('hex')}.link.tmp`);
    await symlink(target, temp);
    try {
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
    await syncDirectory(dir);
  }

  /**
   * Creates a directory with the host directory's mode (at most 0755) and group (or the configured
   * owner and group), so whoever reaches the files through the host directory still reaches them.
   * Created closed, then opened once its owner is set: never wider than that at any instant.
   */
  private async makeDir(path: string): Promise<void> {
    const host = await stat(this.dir);
    const created = await mkdir(path, { recursive: true, mode: 0o700 });
    if (created === undefined) return;
    const { uid, gid } = this.owner;
    if (uid !== undefined || gid !== undefined) await chown(path, uid ?? -1, gid ?? -1);
    else if (host.gid !== process.getgid?.())
      // The host directory's group, when this process may give it (a member, or root).
      await chown(path, -1, host.gid).catch((error: unknown) => {
        if (!isErrno(error, 'EPERM')) throw error;
      });
    await chmod(path, host.mode & 0o755);
  }

  private modeOf(role: InstallFileRole): number {
    return role === 'key' ? this.layout.keyMode : (this.layout.certificateMode ?? 0o644);
  }

  private async currentId(): Promise<string | undefined> {
    return idOf(await readlink(join(this.stateDir, CURRENT)).catch(() => undefined));
  }

  private async previousId(): Promise<string | undefined> {
    return idOf(await readlink(join(this.dir, PREVIOUS)).catch(() => undefined));
  }
}

function idOf(target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  const id = target.split('/').pop();
  return id && /^[0-9a-f]{64}-[0-9a-f]{12}$/.test(id) ? id : undefined;
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** `<sha-256 fingerprint hex>-<first 12 hex of a hash of the whole set>`. */
/** Certificate PEM → fingerprint, for the few certificates a rollout installs on many hosts. */
const fingerprints = new Map<string, string>();

export function versionId(files: FileSet): string {
  let fingerprint = fingerprints.get(files.certificate);
  if (fingerprint === undefined) {
    fingerprint = new X509Certificate(files.certificate).fingerprint256.replace(/:/g, '').toLowerCase();
    if (fingerprints.size >= 256) fingerprints.clear();
    fingerprints.set(files.certificate, fingerprint);
  }
  const hash = createHash('sha256');
  for (const role of ROLES) hash.update(`${role}\0${files[role]}\0`);
  return `${fingerprint}-${hash.digest('hex').slice(0, 12)}`;
}

/**
 * Why a set is not a whole, matching set (undefined when it is): a certificate, the key of that
 * certificate, and a full chain that starts with that certificate.
 */
export function setProblem(files: FileSet): string | undefined {
  // A rollout checks the same set on every host (and again when it reads it back): a set found whole
  // once is remembered by a digest of its bytes (never the key itself), the check being a pure
  // function of those bytes.
  const digest = createHash('sha256');
  for (const role of ROLES) digest.update(`${role}\0${files[role]}\0`);
  const id = digest.digest('hex');
  if (wholeSets.has(id)) {
    registerKeyMaterial(files.key);
    return undefined;
  }
  const problem = checkSet(files);
  if (problem === undefined) {
    if (wholeSets.size >= 256) wholeSets.clear();
    wholeSets.add(id);
  }
  return problem;
}

/** Digests of sets `checkSet` found whole. */
const wholeSets = new Set<string>();

function checkSet(files: FileSet): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(files.certificate);
  } catch {
    return 'certificate is not a readable PEM certificate';
  }
  try {
    registerKeyMaterial(files.key);
    if (!certificate.checkPrivateKey(createPrivateKey(files.key)))
      return 'private key does not match the certificate';
  } catch {
    return 'private key is missing or not a readable unencrypted PEM key';
  }
  try {
    if (new X509Certificate(files.fullchain).fingerprint256 !== certificate.fingerprint256)
      return 'full chain does not start with the certificate';
  } catch {
    return 'full chain is not a readable PEM certificate';
  }
  return undefined;
}

export function sameSet(a: FileSet, b: FileSet): boolean {
  return ROLES.every((r) => a[r] === b[r]);
}

/** The set at `dir` under `names`, or undefined when there is no certificate. */
export async function readSet(dir: string, names: InstallFileNames): Promise<FileSet | undefined> {
  const certificate = await readFileIfExists(join(dir, names.certificate)).catch(notADirectory);
  if (certificate === undefined) return undefined;
  const [key, chain, fullchain] = await Promise.all([
    readFileIfExists(join(dir, names.key)),
    readFileIfExists(join(dir, names.chain)),
    readFileIfExists(join(dir, names.fullchain)),
  ]);
  return {
    key: key ?? '',
    certificate,
    chain: chain ?? '',
    fullchain: fullchain ?? certificate + (chain ?? ''),
  };
}

function notADirectory(error: unknown): undefined {
  if (isErrno(error, 'ENOTDIR')) return undefined;
  throw error;
}
