/**
 * Destination `files`: certificate files on a set of hosts, each host a directory this process can
 * write (a local server's TLS directory, or one per simulated host in the demo and tests).
 *
 * Primary course of `deliver(host, bundle)`: check offline that the key matches the certificate →
 * write the whole set (key with `keyMode`, 0600 by default; certificate, chain and full chain 0644)
 * into its own version directory, fsynced and checked → switch the host to it in ONE atomic step
 * (AtomicFileSet: the configured names, `cert.pem`, `key.pem`, `chain.pem`, `fullchain.pem` by
 * default, are symlinks into `.certrotor/current`, a symlink renamed to the new version), the set it
 * replaces becoming `previous` → run the host's reload command (timeout, killed when exceeded) →
 * report the fingerprint the host now holds. A kill at any point leaves the host on the old complete
 * set or the new one, never a mix. When the reload fails the previous set is switched back (the
 * server never loaded the new one) and the outcome says so. `rollback(host)` switches back to
 * `previous` and reloads again. Delivering the version already installed leaves `previous` alone.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join, resolve } from 'node:path';
import { keyModeProblem } from '../../config/configuration';
import { describeError, InvalidInputError } from '../../domain/errors';
import type {
  CertificateBundle,
  Destination,
  InspectableDestination,
  TargetOutcome,
} from '../../domain/ports';
import { registerKeyMaterial, scrubPrivateKeys } from '../../domain/secret';
import { ensureDirectory, readFileIfExists, withFileLock } from './atomic-file';
import {
  AtomicFileSet,
  type FileOwner,
  type FileSet,
  type InstallFileNames,
  type InstallFileRole,
  PREVIOUS,
  ROLES,
  STATE_DIR,
} from './atomic-file-set';
import { type ReloadCommand, runReloadCommand } from './reload-command';

export type { FileOwner, InstallFileNames, InstallFileRole } from './atomic-file-set';

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

/** Default file names in a host directory, as servers are configured to read them. */
export const INSTALLED_FILES = {
  certificate: 'cert.pem',
  chain: 'chain.pem',
  fullchain: 'fullchain.pem',
  key: 'key.pem',
} as const satisfies InstallFileNames;

export const DEFAULT_KEY_MODE = 0o600;
const LOCK = '.certrotor.lock';

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
      const set = this.fileSet(host);
      const installed = await set.install(files);
      const replaced = installed.replaced;
      if (replaced) registerKeyMaterial(replaced.key);
      const fingerprint = bundle.facts.fingerprintSha256;
      const reload = await this.reload(host, [keyPem, ...(replaced ? [replaced.key] : [])]);
      if (reload === undefined) {
        await set.prune();
        return ok(target, fingerprint, `installed ${bundle.name}@${bundle.version}`);
      }
      if (!this.restoreOnReloadFailure || !installed.before.current || installed.alreadyInstalled)
        return failed(target, reload, fingerprint);
      await set.restore(installed.before);
      return failed(
        target,
        `${reload}; previous files restored`,
        replaced ? fingerprintOf(replaced) : undefined,
      );
    });
  }

  rollback(target: string): Promise<TargetOutcome> {
    const host = this.hosts.get(target);
    if (!host) return Promise.resolve(this.unknown(target));
    return this.serialised(host, async () => {
      const set = this.fileSet(host);
      const previous = await set.readPrevious();
      if (!previous || !(await set.rollback()))
        return failed(target, `no previous version to restore in ${join(host.dir, PREVIOUS)}`);
      registerKeyMaterial(previous.key);
      const fingerprint = fingerprintOf(previous);
      const reload = await this.reload(host, [previous.key]);
      return reload === undefined
        ? ok(target, fingerprint, 'previous version restored')
        : failed(target, `previous files restored but ${reload}`, fingerprint);
    });
  }

  private fileSet(host: Host): AtomicFileSet {
    return new AtomicFileSet(host.dir, this.layout, host.owner);
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

/** Names and key mode from the options, checked: a bad one would write where it must not. */
function layoutOf(options: FileDestinationOptions): Layout {
  const names: InstallFileNames = { ...INSTALLED_FILES, ...options.fileNames };
  for (const role of ROLES) {
    const name = names[role];
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(name) || name === PREVIOUS || name === STATE_DIR)
      throw new InvalidInputError(
        `destination ${options.name}: fileNames.${role} ${JSON.stringify(name)} must be a plain file name (no /, not hidden, not ${PREVIOUS})`,
      );
  }
  if (new Set(ROLES.map((r) => names[r])).size !== ROLES.length)
    throw new InvalidInputError(
      `destination ${options.name}: fileNames must be four different names (got ${ROLES.map((r) => names[r]).join(', ')})`,
    );
  const keyMode = options.keyMode ?? DEFAULT_KEY_MODE;
  const problem = keyModeProblem(keyMode);
  if (problem)
    throw new InvalidInputError(
      `destination ${options.name}: keyMode ${problem}; use 0600, or 0640 with a group`,
    );
  return { names, keyMode };
}
