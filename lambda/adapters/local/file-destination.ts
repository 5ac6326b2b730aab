/**
 * Destination `files`: certificate files on a set of hosts, each host a directory this process can
 * write (a local server's TLS directory, or one per simulated host in the demo and tests).
 *
 * Primary course of `deliver(host, bundle)`: check offline that the key matches the certificate →
 * copy what the host holds now into `previous/` → write the key (`keyMode`, 0600 by default), the
 * certificate, the chain and the full chain (0644), each atomically under the configured file names
 * (`key.pem`, `cert.pem`, `chain.pem`, `fullchain.pem` by default) → run the host's reload command
 * (timeout, killed when exceeded) → report the fingerprint the host now holds. When the reload fails the previous files are put back
 * (the server never loaded the new ones) and the outcome says so. `rollback(host)` copies
 * `previous/` (same file names) back and reloads again. Nothing is ever deleted: `previous/` is replaced only by a
 * newer delivery, and delivering the version already installed leaves it alone.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { keyModeProblem } from '../../config/configuration';
import { describeError, InvalidInputError } from '../../domain/errors';
import type {
  CertificateBundle,
  Destination,
  InspectableDestination,
  TargetOutcome,
} from '../../domain/ports';
import { scrubPrivateKeys } from '../../domain/secret';
import {
  ensureDirectory,
  makeDirectory,
  readFileIfExists,
  settleFileMode,
  syncDirectory,
  withFileLock,
  writeFileAtomic,
  isErrno,
} from './atomic-file';
import { type ReloadCommand, runReloadCommand } from './reload-command';

export interface FileOwner {
  readonly uid?: number;
  readonly gid?: number;
}

export interface FileHostOptions {
  /** Where this host's files go. @default `<directory>/<host>` */
  readonly dir?: string;
  /** Overrides the destination's reload command for this host; `null` for none. */
  readonly reload?: ReloadCommand | null;
  readonly reloadTimeoutMs?: number;
  readonly owner?: FileOwner;
}

export interface FileDestinationOptions {
  readonly name: string;
  /** Host names, or host names with their own options. */
  readonly hosts: readonly string[] | Readonly<Record<string, FileHostOptions>>;
  /** Parent of the per-host directories of hosts without their own `dir`. */
  readonly directory?: string;
  /** Run after files change; gets CERTROTOR_HOST and CERTROTOR_DIR in its environment. */
  readonly reload?: ReloadCommand;
  /** @default 30000 */
  readonly reloadTimeoutMs?: number;
  /** Owner and group for the written files (needs the privilege to chown). */
  readonly owner?: FileOwner;
  /** File names in each host directory (and in its `previous/`). @default INSTALLED_FILES */
  readonly fileNames?: Partial<InstallFileNames>;
  /**
   * Mode of the key file: at most owner read/write and group read (see `keyModeProblem`), e.g.
   * 0o640 with an `owner.gid` the server reads through. @default 0o600
   */
  readonly keyMode?: number;
  /** Put the previous files back when the reload after a delivery fails. @default true */
  readonly restoreOnReloadFailure?: boolean;
}

/** What each installed file holds. */
export type InstallFileRole = 'certificate' | 'chain' | 'fullchain' | 'key';
export type InstallFileNames = Readonly<Record<InstallFileRole, string>>;

/** Default file names in a host directory, as servers are configured to read them. */
export const INSTALLED_FILES = {
  certificate: 'cert.pem',
  chain: 'chain.pem',
  fullchain: 'fullchain.pem',
  key: 'key.pem',
} as const satisfies InstallFileNames;

export const DEFAULT_KEY_MODE = 0o600;
const CERTIFICATE_MODE = 0o644;

const PREVIOUS = 'previous';
const LOCK = '.certrotor.lock';
/** Key first: a server reads the files only on the reload that follows. */
const FILE_ORDER: readonly InstallFileRole[] = ['key', 'certificate', 'chain', 'fullchain'];

interface Host {
  readonly name: string;
  readonly dir: string;
  readonly reload: ReloadCommand | undefined;
  readonly reloadTimeoutMs: number;
  readonly owner: FileOwner;
}

/** How files are laid out and protected on every host of one destination. */
interface Layout {
  readonly names: InstallFileNames;
  readonly keyMode: number;
}

type FileSet = Record<InstallFileRole, string>;

export class FileDestination implements Destination, InspectableDestination {
  readonly name: string;
  readonly kind = 'files';
  private readonly hosts: ReadonlyMap<string, Host>;
  private readonly restoreOnReloadFailure: boolean;
  private readonly layout: Layout;
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(options: FileDestinationOptions) {
    this.name = options.name;
    this.restoreOnReloadFailure = options.restoreOnReloadFailure ?? true;
    this.layout = layoutOf(options);
    const entries: [string, FileHostOptions][] = Array.isArray(options.hosts)
      ? (options.hosts as readonly string[]).map((h) => [h, {}])
      : Object.entries(options.hosts as Record<string, FileHostOptions>);
    const hosts = new Map<string, Host>();
    for (const [name, host] of entries) {
      const dir = host.dir ?? (options.directory ? join(options.directory, name) : undefined);
      if (!dir)
        throw new InvalidInputError(
          `destination ${options.name}: host ${name} has no dir and the destination no directory`,
        );
      const reload = host.reload === null ? undefined : (host.reload ?? options.reload);
      hosts.set(name, {
        name,
        dir: resolve(dir),
        reload,
        reloadTimeoutMs: host.reloadTimeoutMs ?? options.reloadTimeoutMs ?? 30_000,
        owner: { ...options.owner, ...host.owner },
      });
    }
    this.hosts = hosts;
  }

  async targets(): Promise<string[]> {
    return [...this.hosts.keys()];
  }

  /** The directory a host's files are in. */
  directoryOf(target: string): string | undefined {
    return this.hosts.get(target)?.dir;
  }

  /** The path of one of a host's installed files, under the configured name. */
  pathOf(target: string, role: InstallFileRole): string | undefined {
    const dir = this.directoryOf(target);
    return dir === undefined ? undefined : join(dir, this.layout.names[role]);
  }

  async currentFingerprint(target: string): Promise<string | undefined> {
    const host = this.hostOrThrow(target);
    const pem = await readFileIfExists(join(host.dir, this.layout.names.certificate));
    return pem === undefined ? undefined : new X509Certificate(pem).fingerprint256;
  }

  deliver(target: string, bundle: CertificateBundle): Promise<TargetOutcome> {
    const host = this.hosts.get(target);
    if (!host) return Promise.resolve(this.unknown(target));
    return this.serialised(host, async () => {
      const problem = offlineCheck(bundle);
      if (problem) return failed(target, `${bundle.name}@${bundle.version} not delivered: ${problem}`);
      const keyPem = bundle.privateKey.reveal();
      const files: FileSet = {
        key: keyPem,
        certificate: ensureNewline(bundle.certificatePem),
        chain: ensureNewline(bundle.chainPem),
        fullchain: ensureNewline(bundle.certificatePem) + ensureNewline(bundle.chainPem),
      };
      const layout = this.layout;
      await ensureDirectory(host.dir, 0o755);
      const current = await readSet(host.dir, layout.names);
      const alreadyInstalled = current !== undefined && sameSet(current, files);
      // A retried delivery of the installed version must not overwrite previous/ with itself; it
      // still brings modes and owners up to date when the configuration changed them.
      if (alreadyInstalled) await settleSet(host.dir, files, layout, host.owner);
      else {
        if (current) await writeSetAtomically(join(host.dir, PREVIOUS), current, layout, host.owner);
        await writeSet(host.dir, files, layout, host.owner);
      }
      const fingerprint = bundle.facts.fingerprintSha256;
      const reload = await this.reload(host, [keyPem, ...(current ? [current.key] : [])]);
      if (reload === undefined) return ok(target, fingerprint, `installed ${bundle.name}@${bundle.version}`);
      if (!this.restoreOnReloadFailure || !current || alreadyInstalled)
        return failed(target, reload, fingerprint);
      await writeSet(host.dir, current, layout, host.owner);
      return failed(target, `${reload}; previous files restored`, fingerprintOf(current));
    });
  }

  rollback(target: string): Promise<TargetOutcome> {
    const host = this.hosts.get(target);
    if (!host) return Promise.resolve(this.unknown(target));
    return this.serialised(host, async () => {
      const previous = await readSet(join(host.dir, PREVIOUS), this.layout.names);
      if (!previous) return failed(target, `no previous version to restore in ${join(host.dir, PREVIOUS)}`);
      await writeSet(host.dir, previous, this.layout, host.owner);
      const fingerprint = fingerprintOf(previous);
      const reload = await this.reload(host, [previous.key]);
      return reload === undefined
        ? ok(target, fingerprint, 'previous version restored')
        : failed(target, `previous files restored but ${reload}`, fingerprint);
    });
  }

  /** Undefined when the reload succeeded or there is none; otherwise the one-line error. */
  private async reload(host: Host, secrets: string[]): Promise<string | undefined> {
    if (!host.reload) return undefined;
    const result = await runReloadCommand(host.reload, {
      env: { CERTROTOR_HOST: host.name, CERTROTOR_DIR: host.dir },
      timeoutMs: host.reloadTimeoutMs,
      cwd: host.dir,
      secrets,
    });
    return result.ok ? undefined : scrubPrivateKeys(result.error ?? 'reload failed');
  }

  /** One operation per host at a time, in this process (queue) and across processes (lock file). */
  private serialised(host: Host, fn: () => Promise<TargetOutcome>): Promise<TargetOutcome> {
    const run = async (): Promise<TargetOutcome> => {
      try {
        await ensureDirectory(host.dir, 0o755);
        return await withFileLock(join(host.dir, LOCK), fn, {
          timeoutMs: 60_000,
          staleMs: 10 * 60_000,
        });
      } catch (error) {
        return failed(host.name, scrubPrivateKeys(describeError(error)));
      }
    };
    const previous = this.queues.get(host.name) ?? Promise.resolve();
    const next = previous.then(run, run);
    this.queues.set(host.name, next);
    return next;
  }

  private hostOrThrow(target: string): Host {
    const host = this.hosts.get(target);
    if (!host) throw new Error(this.unknown(target).error);
    return host;
  }

  private unknown(target: string): TargetOutcome {
    return failed(
      target,
      `destination ${this.name} has no host ${target} (hosts: ${[...this.hosts.keys()].join(', ') || 'none'})`,
    );
  }
}

function ok(target: string, fingerprintSha256: string | undefined, detail: string): TargetOutcome {
  return { target, ok: true, ...(fingerprintSha256 ? { fingerprintSha256 } : {}), detail };
}

function failed(target: string, error: string, fingerprintSha256?: string): TargetOutcome {
  return { target, ok: false, error, ...(fingerprintSha256 ? { fingerprintSha256 } : {}) };
}

/** What makes a bundle unusable on any server, checked before a single file is touched. */
function offlineCheck(bundle: CertificateBundle): string | undefined {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(bundle.certificatePem);
  } catch {
    return 'certificate is not a readable PEM certificate';
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(bundle.privateKey.reveal())))
      return 'private key does not match the certificate';
  } catch {
    return 'private key is not a readable unencrypted PEM key';
  }
  if (certificate.fingerprint256 !== bundle.facts.fingerprintSha256)
    return 'certificate does not match the fingerprint in its facts';
  return undefined;
}

function ensureNewline(pem: string): string {
  return pem === '' || pem.endsWith('\n') ? pem : `${pem}\n`;
}

function fingerprintOf(set: FileSet): string | undefined {
  try {
    return new X509Certificate(set.certificate).fingerprint256;
  } catch {
    return undefined;
  }
}

function sameSet(a: FileSet, b: FileSet): boolean {
  return FILE_ORDER.every((f) => a[f] === b[f]);
}

/** Names and key mode from the options, checked: a bad one would write where it must not. */
function layoutOf(options: FileDestinationOptions): Layout {
  const names: InstallFileNames = { ...INSTALLED_FILES, ...options.fileNames };
  for (const role of FILE_ORDER) {
    const name = names[role];
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name) || name === PREVIOUS)
      throw new InvalidInputError(
        `destination ${options.name}: fileNames.${role} ${JSON.stringify(name)} must be a plain file name (no /, not hidden, not ${PREVIOUS})`,
      );
  }
  if (new Set(FILE_ORDER.map((r) => names[r])).size !== FILE_ORDER.length)
    throw new InvalidInputError(
      `destination ${options.name}: fileNames must be four different names (got ${FILE_ORDER.map((r) => names[r]).join(', ')})`,
    );
  const keyMode = options.keyMode ?? DEFAULT_KEY_MODE;
  const problem = keyModeProblem(keyMode);
  if (problem)
    throw new InvalidInputError(
      `destination ${options.name}: keyMode ${problem}; use 0600, or 0640 with a group`,
    );
  return { names, keyMode };
}

function modeOf(role: InstallFileRole, layout: Layout): number {
  return role === 'key' ? layout.keyMode : CERTIFICATE_MODE;
}

/** The installed set, or undefined when there is no certificate (a chain or key alone is not a version). */
async function readSet(dir: string, names: InstallFileNames): Promise<FileSet | undefined> {
  const certificate = await readFileIfExists(join(dir, names.certificate));
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

/**
 * Writes each file atomically, key first: a server only reads them on the reload that follows, and
 * a restart in between finds each file whole.
 */
async function writeSet(dir: string, files: FileSet, layout: Layout, owner: FileOwner): Promise<void> {
  for (const role of FILE_ORDER)
    await writeFileAtomic(join(dir, layout.names[role]), files[role], {
      mode: modeOf(role, layout),
      ...owner,
    });
}

/**
 * Brings the modes and owners of the installed files to the configured ones without widening on the
 * way, and writes any file of the set that is missing (a full chain deleted by hand).
 */
async function settleSet(dir: string, files: FileSet, layout: Layout, owner: FileOwner): Promise<void> {
  for (const role of FILE_ORDER) {
    const path = join(dir, layout.names[role]);
    const options = { mode: modeOf(role, layout), ...owner };
    try {
      await settleFileMode(path, options);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
      await writeFileAtomic(path, files[role], options);
    }
  }
}

/** Replaces a whole directory of files at once (staged beside it, then renamed into place). */
async function writeSetAtomically(
  dir: string,
  files: FileSet,
  layout: Layout,
  owner: FileOwner,
): Promise<void> {
  // Hidden siblings, so nothing that globs the host directory picks them up.
  const staging = join(dirname(dir), `.${basename(dir)}.${randomBytes(6).toString('hex')}.tmp`);
  const retired = join(dirname(dir), `.${basename(dir)}.${randomBytes(6).toString('hex')}.old`);
  await makeDirectory(staging, 0o700);
  try {
    await writeSet(staging, files, layout, owner);
    try {
      await rename(dir, retired);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
    await rename(staging, dir);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await rm(retired, { recursive: true, force: true });
  await syncDirectory(dirname(dir));
}
