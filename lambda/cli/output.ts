/**
 * How the CLI writes for people: colour and symbols on a terminal only (`NO_COLOR` and `--no-color`
 * honoured, `FORCE_COLOR` for a pager that understands colour), `--quiet` and `--verbose`. Commands
 * keep writing plain text through `ctx.out`/`ctx.err`; this module decides how a line looks: the
 * severity words the commands already print (CRITICAL, WARNING, INFO, FAILED, …) are painted here,
 * so CRITICAL never looks like INFO on a terminal and a pipe or a file gets the text unchanged.
 */
import type { CliContext } from './context';

export type Verbosity = 'quiet' | 'normal' | 'verbose';

export interface OutputSettings {
  /** Paint stdout lines (a terminal that wants colour). */
  color: boolean;
  /** Paint stderr lines. */
  errColor: boolean;
  verbosity: Verbosity;
  /** `--json` was asked for: stdout is for a program, never painted and never silenced. */
  json: boolean;
}

/** Whether a stream should get colour: a terminal, no `NO_COLOR`, no `--no-color`, TERM not dumb. */
export function wantsColor(env: NodeJS.ProcessEnv, isTTY: boolean | undefined, noColorFlag = false): boolean {
  if (noColorFlag) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return isTTY === true && env.TERM !== 'dumb';
}

const ESC = '\u001b[';
const RESET = `${ESC}0m`;
const STYLE = {
  critical: `${ESC}1;31m`,
  error: `${ESC}31m`,
  warning: `${ESC}33m`,
  info: `${ESC}36m`,
  ok: `${ESC}32m`,
  dim: `${ESC}2m`,
} as const;
export type Tone = keyof typeof STYLE;

const SYMBOL: Record<Tone, string> = {
  critical: '✖',
  error: '✖',
  warning: '▲',
  info: '●',
  ok: '✔',
  dim: '·',
};

/** Paints `text` in `tone` when `color` is on; the text itself never changes. */
export function paint(text: string, tone: Tone, color: boolean): string {
  return color ? `${STYLE[tone]}${text}${RESET}` : text;
}

/**
 * Severity and outcome words as the commands print them, and how they look on a terminal. Matched as
 * whole upper-case words only, so names and messages in lower case are never touched.
 */
const WORDS: readonly [RegExp, Tone][] = [
  [/\b(CRITICAL|EXPIRED|ROLLED[_ ]BACK)\b/g, 'critical'],
  [/\b(ERROR|FAILED|NOT READY|UNREACHABLE)\b/g, 'error'],
  [/\b(WARNING|WARN|PENDING)\b/g, 'warning'],
  [/\b(INFO)\b/g, 'info'],
  [/\b(SUCCEEDED|READY|OK)\b/g, 'ok'],
];

/**
 * A stdout line for a terminal: each severity word painted and preceded by its symbol (every word
 * gains the same two columns, so aligned tables stay aligned). Lines with an escape code already
 * in them are left alone.
 */
export function paintLine(line: string): string {
  if (line.includes('\u001b')) return line;
  let out = line;
  for (const [pattern, tone] of WORDS) {
    out = out.replace(pattern, (word: string, _group: string, offset: number, whole: string) => {
      // "NOT READY" is matched first; do not paint its READY twice.
      if (tone === 'ok' && word === 'READY' && whole.slice(Math.max(0, offset - 4), offset) === 'NOT ')
        return word;
      return paint(`${SYMBOL[tone]} ${word}`, tone, true);
    });
  }
  return out.replace(/^ok: /, () => `${paint(`${SYMBOL.ok} ok`, 'ok', true)}: `);
}

/** An error line for a terminal: the `certrotor:` prefix in red with a cross. */
export function paintError(line: string): string {
  if (line.includes('\u001b')) return line;
  return line.replace(/^certrotor:/, () => paint(`${SYMBOL.error} certrotor:`, 'error', true));
}

/**
 * The context the commands get: writes through `settings` (filled in once the global flags are
 * parsed). `--quiet` drops stdout lines that are not `--json` output (problems still go to stderr
 * and the exit code still tells); `verbose` lines appear only with `--verbose`, on stderr.
 */
export function styledContext(ctx: CliContext, settings: OutputSettings): CliContext {
  const own: Partial<Record<keyof CliContext, unknown>> = {
    out: (text: string) => {
      if (settings.verbosity === 'quiet' && !settings.json) return;
      ctx.out(settings.color && !settings.json ? text.split('\n').map(paintLine).join('\n') : text);
    },
    data: (text: string) => ctx.out(text),
    err: (text: string) => ctx.err(settings.errColor ? paintError(text) : text),
    verbose: (text: string) => {
      if (settings.verbosity === 'verbose') ctx.err(paint(`certrotor: ${text}`, 'dim', settings.errColor));
    },
    output: settings,
  };
  const styled = {} as CliContext;
  // Everything else the composition root gives (env, clock, cwd, input, hooks added later) reads
  // through to `ctx`, as enumerable properties, so `{ ...ctx, out }` in a command keeps them.
  for (const key of Object.keys(ctx) as (keyof CliContext)[]) {
    if (key in own || key === 'exitCode') continue;
    Object.defineProperty(styled, key, { get: () => ctx[key], enumerable: true, configurable: true });
  }
  for (const [key, value] of Object.entries(own))
    Object.defineProperty(styled, key, { value, enumerable: true });
  // The exit code is shared both ways.
  Object.defineProperty(styled, 'exitCode', {
    get: () => ctx.exitCode,
    set: (code: number) => {
      ctx.exitCode = code;
    },
    enumerable: true,
  });
  return styled;
}

/** A `--verbose` line (stderr); nothing otherwise. */
export function verbose(ctx: CliContext, text: string): void {
  ctx.verbose?.(text);
}
