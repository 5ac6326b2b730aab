/**
 * The layering rules of STYLE.md as code: reads every TypeScript source under the given roots, finds
 * what each file imports (static, type-only, `export … from`, `require`, dynamic `import()` and
 * `import('…').T` types) and what it reads from the process (`process.env`, the clock), and reports
 * each rule's violations as `file:line → import`.
 *
 * Pure over a list of files, so a test can run it over a small fixture tree with a deliberate
 * violation and see it fail.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import * as ts from 'typescript';

export interface SourceFile {
  /** Repository-relative, with forward slashes: `lambda/domain/events/index.ts`. */
  readonly path: string;
  readonly text: string;
}

export interface Violation {
  readonly rule: RuleId;
  readonly file: string;
  readonly line: number;
  /** What was imported or read: `@aws-sdk/client-sfn`, `process.env`, `Date.now()`, `612 lines`. */
  readonly what: string;
}

export type Layer =
  | 'domain'
  | 'config'
  | 'use-cases'
  | 'adapters'
  | 'wiring'
  | 'handlers'
  | 'cli'
  | 'lambda'
  | 'lib'
  | 'bin'
  | 'other';

export type RuleId =
  | 'decisions-import-no-aws'
  | 'decisions-import-no-io'
  | 'decisions-import-no-outer-layer'
  | 'domain-imports-no-use-cases'
  | 'adapters-import-no-use-cases'
  | 'decisions-read-no-environment'
  | 'decisions-read-no-clock'
  | 'handlers-and-cli-apart'
  | 'lambda-imports-no-lib'
  | 'aws-sdk-only-in-adapters-and-wiring'
  | 'source-files-stay-small';

/** Files over this many lines fail `source-files-stay-small` (STYLE.md: "about 500"). */
export const MAX_SOURCE_LINES = 550;

/** The layers that decide: pure, no I/O, no environment, no clock. */
const DECIDING: readonly Layer[] = ['domain', 'config', 'use-cases'];
const OUTER: readonly Layer[] = ['adapters', 'wiring', 'handlers', 'cli'];
const IO_MODULES = [
  'tls',
  'net',
  'http',
  'https',
  'http2',
  'fs',
  'fs/promises',
  'child_process',
  'dgram',
  'dns',
  'dns/promises',
  'worker_threads',
];

export function layerOf(path: string): Layer {
  const [top, second] = path.split('/');
  if (top === 'lib') return 'lib';
  if (top === 'bin') return 'bin';
  if (top !== 'lambda') return 'other';
  switch (second) {
    case 'domain':
    case 'config':
    case 'use-cases':
    case 'adapters':
    case 'wiring':
    case 'handlers':
    case 'cli':
      return second;
    default:
      return 'lambda';
  }
}

export interface Reference {
  readonly specifier: string;
  readonly line: number;
  /** Repository-relative target of a relative specifier (without extension), else undefined. */
  readonly target?: string;
}

/** Every module a file refers to, with the line it does so on. */
export function importsOf(file: SourceFile): Reference[] {
  const sf = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true);
  const out: Reference[] = [];
  const add = (literal: ts.Node) => {
    if (!ts.isStringLiteralLike(literal)) return;
    const specifier = literal.text;
    const line = sf.getLineAndCharacterOfPosition(literal.getStart(sf)).line + 1;
    const target = specifier.startsWith('.')
      ? posix.normalize(posix.join(posix.dirname(file.path), specifier))
      : undefined;
    out.push(target === undefined ? { specifier, line } : { specifier, line, target });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      add(node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression);
    } else if (
      ts.isCallExpression(node) &&
      node.arguments.length > 0 &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      add(node.arguments[0]!);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Reads of the process environment and of the clock, found in the syntax tree (comments and strings never count). */
export function ambientReadsOf(
  file: SourceFile,
): { what: 'process.env' | 'Date.now()' | 'new Date()'; line: number }[] {
  const sf = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true);
  const out: { what: 'process.env' | 'Date.now()' | 'new Date()'; line: number }[] = [];
  const lineOf = (node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
  const isProcess = (e: ts.Expression) =>
    (ts.isIdentifier(e) && e.text === 'process') ||
    (ts.isPropertyAccessExpression(e) &&
      ts.isIdentifier(e.expression) &&
      e.expression.text === 'globalThis' &&
      e.name.text === 'process');
  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAccessExpression(node) && node.name.text === 'env' && isProcess(node.expression)) {
      out.push({ what: 'process.env', line: lineOf(node) });
    } else if (
      ts.isElementAccessExpression(node) &&
      isProcess(node.expression) &&
      ts.isStringLiteralLike(node.argumentExpression) &&
      node.argumentExpression.text === 'env'
    ) {
      out.push({ what: 'process.env', line: lineOf(node) });
    } else if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      ts.isIdentifier(node.expression.expression) &&
      node.expression.expression.text === 'Date' &&
      node.expression.name.text === 'now'
    ) {
      out.push({ what: 'Date.now()', line: lineOf(node) });
    } else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'Date' &&
      (node.arguments === undefined || node.arguments.length === 0)
    ) {
      out.push({ what: 'new Date()', line: lineOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const isAwsSdk = (s: string) => s.startsWith('@aws-sdk/');
const isIoModule = (s: string) => IO_MODULES.includes(s.replace(/^node:/, ''));
const targetLayer = (r: Reference) => (r.target === undefined ? undefined : layerOf(r.target));

interface Rule {
  readonly id: RuleId;
  readonly check: (file: SourceFile, layer: Layer) => Omit<Violation, 'rule' | 'file'>[];
}

const importRule =
  (applies: (layer: Layer) => boolean, offends: (r: Reference) => boolean) =>
  (file: SourceFile, layer: Layer) =>
    applies(layer)
      ? importsOf(file)
          .filter(offends)
          .map((r) => ({ line: r.line, what: r.specifier }))
      : [];

const deciding = (layer: Layer) => DECIDING.includes(layer);

/** Generated sources (`*.generated.ts`, or `@generated` in the opening comment) are not hand-written. */
const isGenerated = (file: SourceFile) =>
  file.path.includes('.generated.') || file.text.slice(0, 400).includes('@generated');

export const RULES: readonly Rule[] = [
  { id: 'decisions-import-no-aws', check: importRule(deciding, (r) => isAwsSdk(r.specifier)) },
  { id: 'decisions-import-no-io', check: importRule(deciding, (r) => isIoModule(r.specifier)) },
  {
    id: 'decisions-import-no-outer-layer',
    check: importRule(deciding, (r) => OUTER.includes(targetLayer(r) as Layer)),
  },
  {
    id: 'domain-imports-no-use-cases',
    check: importRule(
      (l) => l === 'domain',
      (r) => targetLayer(r) === 'use-cases',
    ),
  },
  {
    // Ports live in the domain, so an adapter needs nothing from a use case (nor from what composes it).
    id: 'adapters-import-no-use-cases',
    check: importRule(
      (l) => l === 'adapters',
      (r) => ['use-cases', 'wiring', 'handlers', 'cli'].includes(targetLayer(r) as Layer),
    ),
  },
  {
    id: 'decisions-read-no-environment',
    check: (file, layer) =>
      deciding(layer)
        ? ambientReadsOf(file)
            .filter((a) => a.what === 'process.env')
            .map((a) => ({ line: a.line, what: a.what }))
        : [],
  },
  {
    id: 'decisions-read-no-clock',
    check: (file, layer) =>
      deciding(layer)
        ? ambientReadsOf(file)
            .filter((a) => a.what !== 'process.env')
            .map((a) => ({ line: a.line, what: a.what }))
        : [],
  },
  {
    id: 'handlers-and-cli-apart',
    check: (file, layer) =>
      importRule(
        (l) => l === 'handlers' || l === 'cli',
        (r) => {
          const t = targetLayer(r);
          return (layer === 'handlers' && t === 'cli') || (layer === 'cli' && t === 'handlers');
        },
      )(file, layer),
  },
  {
    id: 'lambda-imports-no-lib',
    check: importRule(
      (l) => !['lib', 'bin', 'other'].includes(l),
      (r) => targetLayer(r) === 'lib',
    ),
  },
  {
    id: 'aws-sdk-only-in-adapters-and-wiring',
    check: importRule(
      (l) => !['adapters', 'wiring', 'lib', 'bin', 'other'].includes(l),
      (r) => isAwsSdk(r.specifier),
    ),
  },
  {
    id: 'source-files-stay-small',
    check: (file) => {
      if (!file.path.startsWith('lambda/') && !file.path.startsWith('lib/')) return [];
      if (isGenerated(file)) return [];
      const lines = file.text.split('\n').length - (file.text.endsWith('\n') ? 1 : 0);
      return lines > MAX_SOURCE_LINES
        ? [{ line: lines, what: `${lines} lines (limit ${MAX_SOURCE_LINES})` }]
        : [];
    },
  },
];

/** Every violation of every rule in `files`. */
export function checkArchitecture(files: readonly SourceFile[]): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const layer = layerOf(file.path);
    for (const rule of RULES) {
      for (const v of rule.check(file, layer)) out.push({ rule: rule.id, file: file.path, ...v });
    }
  }
  return out;
}

/** A known violation in a file its owner is still changing; matched by rule and file. */
export interface Allowed {
  readonly rule: RuleId;
  readonly file: string;
  /** Who clears it, and why it is still there. */
  readonly why: string;
}

export function withoutAllowed(violations: readonly Violation[], allowed: readonly Allowed[]): Violation[] {
  return violations.filter((v) => !allowed.some((a) => a.rule === v.rule && a.file === v.file));
}

/** Allowlist entries that no longer match any violation: fixed, so the entry must go. */
export function staleAllowed(violations: readonly Violation[], allowed: readonly Allowed[]): Allowed[] {
  return allowed.filter((a) => !violations.some((v) => v.rule === a.rule && v.file === a.file));
}

/** `file:line → what`, one per line, for a failure message that names every offender. */
export function describeViolations(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.file}:${v.line} → ${v.what}`).join('\n');
}

/** Every `.ts` file (not `.d.ts`) under `dirs` of `root`, as repository-relative SourceFiles. */
export function readSources(root: string, dirs: readonly string[]): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
        out.push({ path: relative(root, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
      }
    }
  };
  for (const dir of dirs) walk(join(root, dir));
  return out.sort((a, b) => a.path.localeCompare(b.path));
}
