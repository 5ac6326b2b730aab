/**
 * The agent's local adapters: the installer (a one-host FileDestination, so the agent writes files
 * exactly as the `files` destination does), a check command, and the small state file that lets the
 * agent survive restarts.
 */
import { join } from 'node:path';
import type { CertificateBundle, TargetOutcome } from '../../domain/ports';
import type { AgentLocalState } from '../../domain/host-agent';
import type { AgentStateFile, CertificateInstaller, HealthCheck } from '../../domain/ports';
import { makeDirectory, readFileIfExists, writeFileAtomic } from './atomic-file';
import { FileDestination, type FileOwner, type InstallFileNames } from './file-destination';
import { type ReloadCommand, runReloadCommand } from './reload-command';

export interface FileInstallerOptions {
  /** Certificate name (for messages). */
  readonly certificate: string;
  readonly directory: string;
  readonly reload?: ReloadCommand;
  /** @default 30000 */
  readonly reloadTimeoutMs?: number;
  readonly owner?: FileOwner;
  /** @default cert.pem, chain.pem, fullchain.pem, key.pem */
  readonly fileNames?: Partial<InstallFileNames>;
  /** At most owner read/write and group read. @default 0o600 */
  readonly keyMode?: number;
}

/**
 * Installs one certificate's files into one directory, through FileDestination's writing logic:
 * the same file names, key mode and owner for the installed files, `previous/` and a restore, and
 * the installed fingerprint read from the configured certificate file.
 */
export class FileInstaller implements CertificateInstaller {
  private readonly files: FileDestination;
  private readonly host: string;

  constructor(options: FileInstallerOptions) {
    this.host = options.certificate;
    this.files = new FileDestination({
      name: `agent:${options.certificate}`,
      ...(options.fileNames ? { fileNames: options.fileNames } : {}),
      ...(options.keyMode !== undefined ? { keyMode: options.keyMode } : {}),
      hosts: {
        [this.host]: {
          dir: options.directory,
          reload: options.reload ?? null,
          ...(options.reloadTimeoutMs !== undefined ? { reloadTimeoutMs: options.reloadTimeoutMs } : {}),
          ...(options.owner ? { owner: options.owner } : {}),
        },
      },
    });
  }

  get directory(): string {
    return this.files.directoryOf(this.host) as string;
  }

  installedFingerprint(): Promise<string | undefined> {
    return this.files.currentFingerprint(this.host);
  }

  install(bundle: CertificateBundle): Promise<TargetOutcome> {
    return this.files.deliver(this.host, bundle);
  }

  restorePrevious(): Promise<TargetOutcome> {
    return this.files.rollback(this.host);
  }
}

/** A check command: exit 0 means healthy. Gets CERTROTOR_EXPECTED_FINGERPRINT in its environment. */
export function commandHealthCheck(
  command: ReloadCommand,
  options: { timeoutMs?: number; cwd?: string } = {},
): HealthCheck {
  return {
    async check(expected) {
      const result = await runReloadCommand(command, {
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
        env: { CERTROTOR_EXPECTED_FINGERPRINT: expected ?? '' },
      });
      return result.ok
        ? { healthy: true }
        : { healthy: false, error: (result.error ?? 'check failed').replace(/^reload /, 'check ') };
    },
  };
}

/** The agent's memory across restarts: a JSON file (0600) written atomically. Never holds keys. */
export class AgentStateJsonFile implements AgentStateFile {
  constructor(readonly path: string) {}

  async load(): Promise<AgentLocalState> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return { certificates: {} };
    const parsed = JSON.parse(text) as Partial<AgentLocalState>;
    return { certificates: parsed.certificates ?? {} };
  }

  async save(state: AgentLocalState): Promise<void> {
    await makeDirectory(join(this.path, '..'), 0o700);
    await writeFileAtomic(this.path, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  }
}
