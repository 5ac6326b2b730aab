/**
 * Turns zod issues into the one-line problems certrotor prints: `path: what is wrong`, with paths
 * written the way a person reads a configuration file (`upstreams[1].endpoints[0].port`).
 */
import type * as z from 'zod';

/** `['upstreams', 1, 'endpoints', 0, 'port']` → `upstreams[1].endpoints[0].port`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += `${out ? '.' : ''}${String(part)}`;
  }
  return out;
}

function received(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return `a ${typeof input}`;
}

const expectedNames: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
};

/** One readable message for one issue, without its path. Never quotes the offending value. */
function messageOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      // Schema-specific messages win; parse with `reportInput: true` so `input` is known here.
      if (!issue.message.startsWith('Invalid input')) return issue.message;
      if (issue.input === undefined) return 'is required';
      return `must be ${expectedNames[issue.expected] ?? issue.expected} (got ${received(issue.input)})`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      if ('discriminator' in issue) {
        const options = (issue as unknown as { options?: unknown[] }).options ?? [];
        return `must be one of ${options.map((v) => JSON.stringify(v)).join(', ')}`;
      }
      return issue.message;
    case 'too_small':
      if (issue.origin === 'array')
        return `must have at least ${String(issue.minimum)} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string')
        return issue.minimum === 1
          ? 'must not be empty'
          : `must be at least ${String(issue.minimum)} characters`;
      return issue.message.startsWith('Too small')
        ? `must be ${issue.inclusive ? 'at least' : 'more than'} ${String(issue.minimum)}`
        : issue.message;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${String(issue.maximum)} items`;
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      return issue.message.startsWith('Too big')
        ? `must be ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}`
        : issue.message;
    case 'invalid_format':
      if (issue.message.startsWith('Invalid')) {
        if (issue.format === 'datetime') return 'must be an ISO 8601 UTC time such as 2026-03-31T08:00:00Z';
        if (issue.format === 'url') return 'must be a URL';
        return `must be a valid ${issue.format}`;
      }
      return issue.message;
    default:
      return issue.message;
  }
}

/** One problem: where (a path into the document) and what is wrong. */
export interface PathProblem {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Every issue as a path and a message; unknown keys become one problem each, at the key's own path. */
export function issueProblems(issues: readonly z.core.$ZodIssue[]): PathProblem[] {
  const problems: PathProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ path: [...issue.path, key], message: 'unknown key' });
    } else {
      problems.push({ path: issue.path, message: messageOf(issue) });
    }
  }
  return problems;
}

/** `path: message`, or the message alone for the document itself. */
export function formatProblem(problem: PathProblem): string {
  const path = formatPath(problem.path);
  return path ? `${path}: ${problem.message}` : problem.message;
}

/**
 * Every issue as `path: message` (parse with `reportInput: true` for the best messages); unknown
 * keys become one problem each, at the key's own path. Duplicates are dropped.
 */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return [...new Set(issueProblems(issues).map(formatProblem))];
}

/**
 * Sorts problems into the order their paths appear in `document` (keys in written order, list items
 * by index), so a long report reads top to bottom like the file. Stable for equal positions.
 */
export function inDocumentOrder<T extends PathProblem>(problems: readonly T[], document: unknown): T[] {
  const position = (path: readonly PropertyKey[]): number[] => {
    const out: number[] = [];
    let node: unknown = document;
    for (const part of path) {
      if (Array.isArray(node) && typeof part === 'number') {
        out.push(part);
        node = node[part];
      } else if (typeof node === 'object' && node !== null) {
        const index = Object.keys(node).indexOf(String(part));
        // Missing keys (a required field) sort after the keys that are there.
        out.push(index < 0 ? Number.MAX_SAFE_INTEGER : index);
        node = index < 0 ? undefined : (node as Record<string, unknown>)[String(part)];
      } else {
        out.push(Number.MAX_SAFE_INTEGER);
        node = undefined;
      }
    }
    return out;
  };
  const keyed = problems.map((problem, index) => ({ problem, index, at: position(problem.path) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < Math.min(a.at.length, b.at.length); i++) {
      const diff = (a.at[i] as number) - (b.at[i] as number);
      if (diff !== 0) return diff;
    }
    return a.at.length - b.at.length || a.index - b.index;
  });
  return keyed.map((k) => k.problem);
}

// ---------------------------------------------------------------------------------------------
// "Did you mean": the closest allowed key or value to a misspelt one
// ---------------------------------------------------------------------------------------------

/** Edit distance (insertions, deletions, substitutions; a swap of neighbours counts once). */
export function levenshtein(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `word`, when it is close enough to be a likely typo: the same word in
 * another case, or at most a third of its letters (at least one) away. Ties go to the first.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    if (candidate === word) continue;
    const distance = candidate.toLowerCase() === lower ? 0 : levenshtein(lower, candidate.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

interface SchemaDef {
  readonly type: string;
  readonly shape?: Record<string, SchemaLike>;
  readonly element?: SchemaLike;
  readonly innerType?: SchemaLike;
  readonly in?: SchemaLike;
  readonly options?: readonly SchemaLike[];
  readonly discriminator?: string;
  readonly valueType?: SchemaLike;
  readonly values?: readonly unknown[];
  readonly getter?: () => SchemaLike;
}
interface SchemaLike {
  readonly _zod: { readonly def: SchemaDef };
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'catch', 'readonly', 'nonoptional']);

/** Unwraps optional/default/pipe/lazy to the schema that parses the value. */
function unwrap(schema: SchemaLike): SchemaLike {
  let current = schema;
  for (let guard = 0; guard < 20; guard++) {
    const def = current._zod.def;
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else if (def.type === 'lazy' && def.getter) current = def.getter();
    else break;
  }
  return current;
}

/** The union member that `value` selects by its discriminator (`kind: files` → the files shape). */
function unionMember(def: SchemaDef, value: unknown): SchemaLike | undefined {
  const options = (def.options ?? []).map(unwrap);
  if (def.discriminator && typeof value === 'object' && value !== null) {
    const chosen = (value as Record<string, unknown>)[def.discriminator];
    const match = options.find((o) => {
      const field = o._zod.def.shape?.[def.discriminator!];
      return field !== undefined && (unwrap(field)._zod.def.values ?? []).includes(chosen);
    });
    if (match) return match;
  }
  // Not discriminated, or an unknown discriminator: the only object member, if there is one.
  const objects = options.filter((o) => o._zod.def.type === 'object');
  return objects.length === 1 ? objects[0] : undefined;
}

/** The schema at `path` inside `schema`, following `document` through discriminated unions. */
function schemaAt(
  schema: SchemaLike,
  path: readonly PropertyKey[],
  document: unknown,
): SchemaLike | undefined {
  let current: SchemaLike | undefined = unwrap(schema);
  let value = document;
  for (let i = 0; i <= path.length && current; i++) {
    let def: SchemaDef = current._zod.def;
    if (def.type === 'union') {
      current = unionMember(def, value);
      if (!current) return undefined;
      def = current._zod.def;
    }
    if (i === path.length) return current;
    const part = path[i]!;
    if (def.type === 'object' && typeof part === 'string') {
      const field: SchemaLike | undefined = def.shape?.[part];
      current = field ? unwrap(field) : undefined;
    } else if (def.type === 'array' && typeof part === 'number' && def.element) {
      current = unwrap(def.element);
    } else if (def.type === 'record' && def.valueType) {
      current = unwrap(def.valueType);
    } else {
      return undefined;
    }
    value =
      typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[part] : undefined;
  }
  return current;
}

/** The keys allowed in the mapping at `path` (for `kind:` unions, those of the chosen kind). */
export function allowedKeysAt(schema: unknown, path: readonly PropertyKey[], document: unknown): string[] {
  const at = schemaAt(schema as SchemaLike, path, document);
  const def = at?._zod.def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** The value at `path` in a parsed document, if any. */
export function valueAt(document: unknown, path: readonly PropertyKey[]): unknown {
  let value = document;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/**
 * `unknown key` → `unknown key (did you mean "port"?)`; `must be one of "acm", "files"` for a
 * misspelt value → `… (did you mean "files"?)`. Other messages are returned unchanged.
 */
export function withSuggestion(problem: PathProblem, schema: unknown, document: unknown): PathProblem {
  const { path, message } = problem;
  let suggestion: string | undefined;
  if (message === 'unknown key' && path.length > 0) {
    const key = path[path.length - 1];
    if (typeof key === 'string')
      suggestion = closest(key, allowedKeysAt(schema, path.slice(0, -1), document));
  } else {
    const oneOf = /^must be one of ((?:"(?:[^"\\]|\\.)*"(?:, )?)+)$/.exec(message);
    const value = valueAt(document, path);
    if (oneOf && typeof value === 'string') {
      const options = [...oneOf[1]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
      suggestion = closest(value, options);
    }
  }
  return suggestion ? { path, message: `${message} (did you mean "${suggestion}"?)` } : problem;
}

const PATH_PREFIX = /^((?:[A-Za-z_$][\w$-]*|\[\d+\])(?:\.[A-Za-z_$][\w$-]*|\[\d+\])*): /;

/**
 * Splits a formatted problem (`upstreams[1].port: must be 1-65535`) back into its path and message;
 * a problem about the whole document has an empty path.
 */
export function parseProblem(text: string): PathProblem {
  const match = PATH_PREFIX.exec(text);
  if (!match) return { path: [], message: text };
  const path: PropertyKey[] = [];
  for (const part of match[1]!.matchAll(/\[(\d+)\]|\.?([A-Za-z_$][\w$-]*)/g))
    path.push(part[1] !== undefined ? Number(part[1]) : part[2]!);
  return { path, message: text.slice(match[0].length) };
}
