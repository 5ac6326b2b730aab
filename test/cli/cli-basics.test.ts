import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { Command } from 'commander';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { registerCommands } from '../../lambda/cli/commands';
import { allCommands, commandPath } from '../../lambda/cli/help';
import { paintLine, styledContext, wantsColor } from '../../lambda/cli/output';
import { buildConfig } from '../builders/config';
import { useTempDirs } from '../support/temp-dir';

const run = promisify(execFile);
const temp = useTempDirs();
const ESC = '\u001b[';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function certrotor(
  argv: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; tty?: boolean } = {},
): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    clock: () => new Date('2026-03-01T12:00:00Z'),
    exitCode: 0,
    ...(options.tty ? { stdoutIsTTY: true, stderrIsTTY: true } : {}),
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function validConfig(): Promise<{ cwd: string; file: string }> {
  const cwd = await temp.make('cli-basics');
  const file = join(cwd, 'certrotor.yaml');
  await writeFile(file, stringify(buildConfig()));
  return { cwd, file };
}

describe('certrotor --version', () => {
  it('prints the version from package.json and exits 0', async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as {
      version: string;
    };

    const result = await certrotor(['--version']);

    expect(result.code).toBe(0);
    expect(result.out).toMatch(
      new RegExp(`^${pkg.version.replace(/\./g, '\\.')}( \\(commit [0-9a-f]+.*\\))?$`),
    );
  });
});

describe('help', () => {
  const program = new Command('certrotor');
  registerCommands(program, {
    out: () => {},
    err: () => {},
    env: {},
    cwd: '/',
    clock: () => new Date(),
    exitCode: 0,
  });
  const paths = allCommands(program)
    .map(commandPath)
    .filter((p) => p !== '');

  it.each(paths)('certrotor %s --help has examples and the exit codes', async (path) => {
    const result = await certrotor([...path.split(' '), '--help']);

    expect(result.code).toBe(0);
    expect(result.out).toContain('Examples:\n  $ certrotor');
    expect(result.out).toContain('Exit codes:\n  0  success');
    expect(result.out).toContain('--no-color');
  });

  it('explains every step of run', async () => {
    const result = await certrotor(['run', '--help']);

    expect(result.out).toMatch(/1\. scan.*\n\s+2\. rotate/);
    expect(result.out).toContain('3. watch upstreams');
    expect(result.out).toContain('4. send Slack messages');
  });

  it('writes every description as one sentence', async () => {
    const result = await certrotor(['--help']);

    const commands = result.out.split('Commands:\n')[1]!.split('\n\n')[0]!;
    const descriptions =
      commands.match(/^ {2}[a-z-]+(?: \[options\])?(?: <\w+>| \[\w+\])*\s{2,}(\S)/gm) ?? [];
    expect(descriptions.length).toBeGreaterThan(5);
    for (const line of descriptions) expect(line.slice(-1)).toMatch(/[A-Z]/);
  });
});

describe('colour and verbosity', () => {
  it('paints severities with a symbol on a terminal and keeps the columns aligned', () => {
    const critical = paintLine('  CRITICAL expired              api expired');
    const info = paintLine('  INFO     expiring             web expires');

    expect(critical).toContain(`${ESC}1;31m✖ CRITICAL${ESC}0m`);
    expect(info).toContain(`${ESC}36m● INFO${ESC}0m`);
    const plain = (s: string) =>
      s
        .split(ESC)
        .map((part, i) => (i === 0 ? part : part.replace(/^[0-9;]*m/, '')))
        .join('');
    expect(plain(critical).indexOf('expired ')).toBe(plain(info).indexOf('expiring'));
    expect(paintLine('  NOT READY worker-1')).not.toContain('✔');
  });

  it('uses colour on a terminal only, and never with NO_COLOR, --no-color or TERM=dumb', () => {
    expect(wantsColor({}, true)).toBe(true);
    expect(wantsColor({}, false)).toBe(false);
    expect(wantsColor({}, undefined)).toBe(false);
    expect(wantsColor({ NO_COLOR: '1' }, true)).toBe(false);
    expect(wantsColor({}, true, true)).toBe(false);
    expect(wantsColor({ TERM: 'dumb' }, true)).toBe(false);
    expect(wantsColor({ FORCE_COLOR: '1' }, false)).toBe(true);
  });

  it('paints output on a terminal and leaves a pipe, NO_COLOR and --no-color plain', async () => {
    const { cwd } = await validConfig();

    const tty = await certrotor(['config', 'validate'], { cwd, tty: true });
    const pipe = await certrotor(['config', 'validate'], { cwd });
    const noColorEnv = await certrotor(['config', 'validate'], { cwd, tty: true, env: { NO_COLOR: '1' } });
    const noColorFlag = await certrotor(['config', 'validate', '--no-color'], { cwd, tty: true });

    expect(tty.out).toMatch(new RegExp(`^${ESC.replace('[', '\\[')}32m✔ ok`));
    for (const plain of [pipe, noColorEnv, noColorFlag]) {
      expect(plain.code).toBe(0);
      expect(plain.out).toMatch(/^ok: /);
      expect(plain.out).not.toContain(ESC);
    }
  });

  it('prints nothing on stdout with --quiet but still the problems and the exit code', async () => {
    const { cwd, file } = await validConfig();
    const quiet = await certrotor(['--quiet', 'config', 'validate'], { cwd });
    await writeFile(file, stringify(buildConfig((c) => (c.version = 2))));
    const failing = await certrotor(['config', 'validate', '-q'], { cwd });

    expect(quiet).toEqual({ code: 0, out: '', err: '' });
    expect(failing.code).toBe(1);
    expect(failing.out).toBe('');
    expect(failing.err).toContain('version: must be 1');
  });

  it('keeps --json output under --quiet', async () => {
    const { cwd } = await validConfig();

    const result = await certrotor(['-q', 'config', 'validate', '--json'], { cwd });

    expect(JSON.parse(result.out)).toMatchObject({ ok: true });
  });

  it('says what it runs with --verbose, on stderr', async () => {
    const { cwd } = await validConfig();

    const result = await certrotor(['config', 'validate', '--verbose'], { cwd });

    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^ok: /);
    expect(result.err.split('\n')).toEqual([
      expect.stringMatching(/^certrotor: certrotor \S+.*: config validate \(cwd /),
      `certrotor: configuration: ${join(cwd, 'certrotor.yaml')}`,
    ]);
  });

  it('refuses --quiet with --verbose as a usage error', async () => {
    const result = await certrotor(['-q', '--verbose', 'config', 'validate']);

    expect(result.code).toBe(2);
    expect(result.err).toBe('certrotor: --quiet and --verbose: choose one');
  });
});

describe('certrotor completion', () => {
  async function script(shell: string): Promise<string> {
    const result = await certrotor(['completion', shell]);
    expect(result.code).toBe(0);
    return `${result.out}\n`;
  }

  it('prints a bash script that loads and completes commands, subcommands and options', async () => {
    const dir = await temp.make('completion');
    const file = join(dir, 'certrotor.bash');
    await writeFile(file, await script('bash'));
    const complete = (words: string) =>
      `COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _certrotor; echo "\${COMPREPLY[*]}"`;

    const loaded = await run('bash', ['-c', `source ${file} && complete -p certrotor`]);
    const top2 = await run('bash', ['-c', `source ${file} && ${complete('certrotor con')}`]);
    const sub = await run('bash', ['-c', `source ${file} && ${complete("certrotor upstream ''")}`]);
    const options = await run('bash', [
      '-c',
      `source ${file} && ${complete('certrotor --quiet inspect --t')}`,
    ]);

    expect(loaded.stdout.trim()).toBe('complete -o default -F _certrotor certrotor');
    expect(top2.stdout.trim()).toBe('config');
    expect(sub.stdout.trim().split(' ').sort()).toEqual([
      'announce',
      'import-client-cert',
      'status',
      'watch',
    ]);
    expect(options.stdout.trim()).toBe('--timeout');
  });

  it('prints zsh and fish scripts naming every top-level command', async () => {
    const zsh = await script('zsh');
    const fish = await script('fish');

    expect(zsh.startsWith('#compdef certrotor\n')).toBe(true);
    expect(zsh).toContain("'upstream') reply=(announce import-client-cert watch status) ;;");
    for (const command of ['scan', 'status', 'run', 'inspect', 'completion', 'config'])
      expect(fish).toContain(`-a ${command} -d`);
    expect(fish).toContain("-n '__fish_seen_subcommand_from inspect' -l timeout -r");
  });

  it('refuses an unknown shell with one line', async () => {
    const result = await certrotor(['completion', 'powershell']);

    expect(result.code).toBe(1);
    expect(result.err).toBe(
      'certrotor: completion powershell: unknown shell; expected one of bash, zsh, fish',
    );
  });
});

describe('the context commands get', () => {
  it('reads everything the composition root gives through, and shares the exit code', () => {
    const extra = { onInterrupt: () => () => undefined };
    const seen: unknown[] = [];
    const ctx = {
      out: () => undefined,
      err: () => undefined,
      env: {},
      cwd: '/',
      clock: () => new Date(),
      exitCode: 0,
      ...extra,
    } as CliContext;
    const styled = styledContext(ctx, { color: false, errColor: false, verbosity: 'normal', json: false });

    seen.push((styled as unknown as typeof extra).onInterrupt, styled.env, styled.cwd);
    styled.exitCode = 3;

    expect(seen).toEqual([extra.onInterrupt, ctx.env, '/']);
    // A command that derives a context of its own (`{ ...ctx, out }`) keeps every field.
    const derived = { ...styled, out: () => undefined };
    expect([derived.env, derived.cwd, derived.clock, derived.exitCode]).toEqual([ctx.env, '/', ctx.clock, 3]);
    expect((derived as unknown as typeof extra).onInterrupt).toBe(extra.onInterrupt);
    expect(ctx.exitCode).toBe(3);
    expect(styled.exitCode).toBe(3);
  });
});
