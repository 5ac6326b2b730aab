/**
 * Reads the configuration file (YAML or JSON: YAML is a superset) and validates it. A missing or
 * unparsable file is one line naming the file (and the line and column); a file that parses but is
 * wrong is a ConfigurationError listing every problem. Relative paths inside the file are resolved
 * against the file's directory, so a configuration means the same wherever the CLI runs from.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { type Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import {
  type CertrotorConfig,
  type CheckOptions,
  checkConfig,
  configSchema,
} from '../../config/configuration';
import { ConfigurationError, InvalidInputError } from '../../domain/errors';
import { parseProblem, withSuggestion, formatProblem } from '../../domain/zod-issues';

/** Parses configuration text; `file` names it in errors. Does not validate. */
export function parseConfigText(text: string, file: string): unknown {
  return parseConfigSource(text, file).raw;
}

/** A parsed configuration file: the plain value, and the YAML document with its positions. */
export interface ConfigSource {
  readonly raw: unknown;
  readonly document: Document;
  readonly lines: LineCounter;
}

/** Parses configuration text keeping node positions, for problems with `file:line:column`. */
export function parseConfigSource(text: string, file: string): ConfigSource {
  if (text.trim() === '') throw new InvalidInputError(`${file}: the configuration file is empty`);
  // uniqueKeys: a key given twice is a mistake, not "the last one wins".
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines });
  const error = document.errors[0];
  if (error) {
    const position = error.linePos?.[0];
    const where = position ? `${file}:${position.line}:${position.col}` : file;
    const message = (error.message.split('\n')[0] ?? error.code).replace(/ at line \d+, column \d+:?$/, '');
    throw new InvalidInputError(`${where}: not valid YAML or JSON: ${message}`);
  }
  try {
    return { raw: document.toJS({ maxAliasCount: 100 }) as unknown, document, lines };
  } catch (cause) {
    throw new InvalidInputError(`${file}: not valid YAML or JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads and parses the configuration file at `path` without validating it.
 * @throws InvalidInputError when the file is missing, unreadable, unparsable or empty
 */
export async function readConfigDocument(path: string): Promise<unknown> {
  return (await readConfigSource(path)).raw;
}

/** Like `readConfigDocument`, keeping the YAML document and its positions. */
export async function readConfigSource(path: string): Promise<ConfigSource> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory, not a file'
            : (error as Error).message;
    throw new InvalidInputError(`${path}: cannot read the configuration file: ${reason}`, { cause: error });
  }
  const source = parseConfigSource(text, path);
  // A file of only comments parses to nothing: say so in one line rather than as a problem list.
  if (source.raw === null || source.raw === undefined)
    throw new InvalidInputError(`${path}: the configuration file is empty`);
  return source;
}

/** One configuration problem, where it is in the file (when it can be placed) and what is wrong. */
export interface LocatedProblem {
  /** `path: message`, as `config validate --json` lists it (with any "did you mean"). */
  readonly problem: string;
  readonly line?: number;
  readonly column?: number;
}

export type ConfigFileCheck =
  | { readonly ok: true; readonly config: CertrotorConfig; readonly problems: readonly [] }
  | { readonly ok: false; readonly problems: readonly LocatedProblem[] };

/**
 * Checks the configuration file at `path`: every problem with its line and column in the file and,
 * for a misspelt key or kind, the closest allowed one. Relative paths are not resolved.
 * @throws InvalidInputError when the file is missing, unreadable, unparsable or empty
 */
export async function checkConfigFile(path: string, options: CheckOptions = {}): Promise<ConfigFileCheck> {
  return checkConfigSource(await readConfigSource(path), options);
}

/** `checkConfigFile` for an already parsed source; `options.backend` also checks the kinds it runs. */
export function checkConfigSource(source: ConfigSource, options: CheckOptions = {}): ConfigFileCheck {
  const check = checkConfig(source.raw, options);
  if (check.ok) return check;
  return {
    ok: false,
    problems: check.problems.map((text) => {
      const parsed = parseProblem(text);
      const explained = withSuggestion(parsed, configSchema, source.raw);
      const at = positionOf(source, parsed.path, parsed.message);
      return { problem: explained === parsed ? text : formatProblem(explained), ...at };
    }),
  };
}

/** `file:12:5: path: message`, or `file: path: message` when the problem has no place. */
export function formatLocatedProblem(file: string, problem: LocatedProblem): string {
  return problem.line !== undefined
    ? `${file}:${problem.line}:${problem.column ?? 1}: ${problem.problem}`
    : problem.problem;
}

/**
 * Where `path` is in the file: an unknown key at the key, a wrong value at the value, a missing key
 * at the mapping that lacks it (the deepest part of the path that is there).
 */
function positionOf(
  source: ConfigSource,
  path: readonly PropertyKey[],
  message: string,
): { line?: number; column?: number } {
  let node: unknown = source.document.contents;
  let offset: number | undefined = rangeStart(node);
  for (const [index, part] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part),
      );
      if (!pair) break;
      const keyStart = rangeStart(pair.key);
      const valueStart = rangeStart(pair.value);
      offset =
        last && (message === 'unknown key' || valueStart === undefined) ? keyStart : (valueStart ?? keyStart);
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  if (offset === undefined) return {};
  const { line, col } = source.lines.linePos(offset);
  return { line, column: col };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: readonly number[] } | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/**
 * Loads, validates and resolves the configuration at `path`.
 * @throws InvalidInputError when the file is missing, unreadable, unparsable or empty
 * @throws ConfigurationError listing every problem when it does not validate
 */
export async function loadConfigFile(path: string): Promise<CertrotorConfig> {
  const check = await checkConfigFile(path);
  if (!check.ok)
    throw new ConfigurationError(
      path,
      check.problems.map((p) => formatLocatedProblem(path, p)),
    );
  return resolveConfigPaths(check.config, dirname(resolve(path)));
}

/**
 * A command whose program is a relative path (`./reload.sh`, `bin/reload`, `../x`) with that path
 * made absolute against `directory`; a bare program name (`nginx`, `systemctl`) is looked up on PATH
 * as always. A string command (run by the shell) has its first word resolved the same way.
 */
export function commandAt<C extends string | readonly string[]>(command: C, directory: string): C {
  const resolveProgram = (program: string): string =>
    program.includes('/') && !isAbsolute(program) ? resolve(directory, program) : program;
  if (typeof command !== 'string') {
    const [program, ...args] = command as readonly string[];
    return (program === undefined ? command : [resolveProgram(program), ...args]) as unknown as C;
  }
  const match = /^(\s*)(\S+)(.*)$/s.exec(command);
  if (!match) return command;
  const program = match[2]!;
  const resolved = resolveProgram(program);
  if (resolved === program) return command;
  return `${match[1]}${/[\s'"$`\\]/.test(resolved) ? `'${resolved.replace(/'/g, `'\\''`)}'` : resolved}${match[3]}` as C;
}

/** Returns `config` with every relative file path made absolute against `directory`. */
export function resolveConfigPaths(config: CertrotorConfig, directory: string): CertrotorConfig {
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(directory, p));
  const maybe = (p: string | undefined): string | undefined => (p === undefined ? undefined : at(p));
  return {
    ...config,
    sources: config.sources.map((s) => (s.kind === 'files' ? { ...s, paths: s.paths.map(at) } : s)),
    issuers: config.issuers.map((i) =>
      i.kind === 'local-ca' && i.directory !== undefined ? { ...i, directory: at(i.directory) } : i,
    ),
    // Only files destinations write on this machine; ssm and agent directories are on the hosts.
    // Their commands run here too: a command path like `./reload.sh` is relative to this file as well.
    destinations: config.destinations.map((d) =>
      d.kind === 'files'
        ? {
            ...d,
            directory: at(d.directory),
            ...(d.reloadCommand !== undefined
              ? { reloadCommand: commandAt(d.reloadCommand, directory) }
              : {}),
          }
        : d,
    ),
    endpoints: config.endpoints.map((e) => (e.caFile === undefined ? e : { ...e, caFile: at(e.caFile) })),
    upstreams: config.upstreams.map((u) =>
      u.trust.caBundleFile === undefined
        ? u
        : { ...u, trust: { ...u.trust, caBundleFile: maybe(u.trust.caBundleFile) } },
    ),
    local: {
      ...config.local,
      stateDirectory: at(config.local.stateDirectory),
      events: { ...config.local.events, jsonlFile: maybe(config.local.events.jsonlFile) },
    },
  };
}
