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
