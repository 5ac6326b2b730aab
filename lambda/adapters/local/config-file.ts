/**
 * Reads the configuration file (YAML or JSON: YAML is a superset) and validates it. A missing or
 * unparsable file is one line naming the file (and the line and column); a file that parses but is
 * wrong is a ConfigurationError listing every problem. Relative paths inside the file are resolved
 * against the file's directory, so a configuration means the same wherever the CLI runs from.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { type CertrotorConfig, validateConfig } from '../../config/configuration';
import { InvalidInputError } from '../../domain/errors';

/** Parses configuration text; `file` names it in errors. Does not validate. */
export function parseConfigText(text: string, file: string): unknown {
  if (text.trim() === '') throw new InvalidInputError(`${file}: the configuration file is empty`);
  // uniqueKeys: a key given twice is a mistake, not "the last one wins".
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const error = document.errors[0];
  if (error) {
    const position = error.linePos?.[0];
    const where = position ? `${file}:${position.line}:${position.col}` : file;
    const message = (error.message.split('\n')[0] ?? error.code).replace(/ at line \d+, column \d+:?$/, '');
    throw new InvalidInputError(`${where}: not valid YAML or JSON: ${message}`);
  }
  try {
    return document.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (cause) {
    throw new InvalidInputError(`${file}: not valid YAML or JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Reads and parses the configuration file at `path` without validating it.
 * @throws InvalidInputError when the file is missing, unreadable, unparsable or empty
 */
export async function readConfigDocument(path: string): Promise<unknown> {
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
  const raw = parseConfigText(text, path);
  // A file of only comments parses to nothing: say so in one line rather than as a problem list.
  if (raw === null || raw === undefined)
    throw new InvalidInputError(`${path}: the configuration file is empty`);
  return raw;
}

/**
 * Loads, validates and resolves the configuration at `path`.
 * @throws InvalidInputError when the file is missing, unreadable, unparsable or empty
 * @throws ConfigurationError listing every problem when it does not validate
 */
export async function loadConfigFile(path: string): Promise<CertrotorConfig> {
  const config = validateConfig(await readConfigDocument(path), path);
  return resolveConfigPaths(config, dirname(resolve(path)));
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
    destinations: config.destinations.map((d) =>
      d.kind === 'files' ? { ...d, directory: at(d.directory) } : d,
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
