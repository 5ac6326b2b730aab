/**
 * Runs a host's reload command (`nginx -s reload`, `systemctl reload envoy`, a script) with a
 * timeout. An argv array runs without a shell; a string runs with `/bin/sh -c`. The command gets its
 * own process group so that a timeout kills everything it started, not only the shell.
 */
import { spawn } from 'node:child_process';
import { registerKeyMaterial, scrubPrivateKeys } from '../../domain/secret';

export type ReloadCommand = readonly string[] | string;

export interface ReloadRun {
  readonly env?: Readonly<Record<string, string>>;
  /** @default 30000 */
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Text that must never appear in the reported line (key PEMs in play). */
  readonly secrets?: readonly string[];
}

export interface ReloadResult {
  readonly ok: boolean;
  readonly exitCode?: number;
  readonly signal?: string;
  readonly timedOut: boolean;
  /** One line for an outcome when `ok` is false: the command, what happened, its last stderr line. */
  readonly error?: string;
}

/** Grace between SIGTERM and SIGKILL after a timeout. */
const KILL_GRACE_MS = 1000;
const MAX_LINE = 200;

export function describeCommand(command: ReloadCommand): string {
  return typeof command === 'string' ? command : command.join(' ');
}

export function runReloadCommand(command: ReloadCommand, run: ReloadRun = {}): Promise<ReloadResult> {
  for (const secret of run.secrets ?? []) registerKeyMaterial(secret);
  const timeoutMs = run.timeoutMs ?? 30_000;
  const shown = truncate(describeCommand(command));
  const [file, args] =
    typeof command === 'string' ? ['/bin/sh', ['-c', command]] : [command[0] ?? '', command.slice(1)];
  return new Promise((resolve) => {
    if (file === '') {
      resolve({ ok: false, timedOut: false, error: 'reload command is empty' });
      return;
    }
    let stderr = '';
    let timedOut = false;
    let settled = false;
    const finish = (result: ReloadResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killer);
      resolve(result);
    };
    const child = spawn(file, args as string[], {
      cwd: run.cwd,
      env: { ...process.env, ...run.env },
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    child.stderr.on('data', (chunk: Buffer) => {
      // Only the tail is ever reported; keep a bounded window of it.
      stderr = (stderr + chunk.toString('utf8')).slice(-16_384);
    });
    let killer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child.pid, 'SIGTERM');
      killer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    child.on('error', (error) =>
      finish({ ok: false, timedOut: false, error: `reload \`${shown}\` could not start: ${error.message}` }),
    );
    child.on('close', (code, signal) => {
      const last = lastLine(stderr, run.secrets ?? []);
      const tail = last ? `: ${last}` : '';
      if (timedOut)
        finish({
          ok: false,
          timedOut: true,
          ...(signal ? { signal } : {}),
          error: `reload \`${shown}\` timed out after ${timeoutMs} ms and was killed${tail}`,
        });
      else if (code === 0) finish({ ok: true, exitCode: 0, timedOut: false });
      else
        finish({
          ok: false,
          timedOut: false,
          ...(code !== null ? { exitCode: code } : {}),
          ...(signal ? { signal } : {}),
          error: `reload \`${shown}\` ${code !== null ? `exited ${code}` : `was killed by ${signal}`}${tail}`,
        });
    });
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * The last non-empty stderr line, safe to put in an outcome: the whole output is redacted first
 * (`scrubPrivateKeys`: PEM key blocks, cut-off blocks, any base64/base64url/hex run that decodes to
 * a private key, and every key this process holds in any encoding, even in pieces), then a line
 * that is part of a secret in play is redacted.
 */
export function lastLine(text: string, secrets: readonly string[]): string | undefined {
  const clean = scrubPrivateKeys(text);
  const line = clean
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .pop();
  if (line === undefined) return undefined;
  if (line.length >= 8 && secrets.some((s) => s.includes(line))) return '[REDACTED]';
  return truncate(line);
}

function truncate(text: string): string {
  return text.length > MAX_LINE ? `${text.slice(0, MAX_LINE - 1)}…` : text;
}
