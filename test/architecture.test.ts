/**
 * The architecture of STYLE.md, checked: domain, configuration and use cases decide and never talk to
 * the world; adapters (and the wiring, for client types) are the only AWS SDK importers; handlers and
 * the CLI never import each other; lambda/ never imports lib/; no hand-written source file grows
 * past MAX_SOURCE_LINES. Each rule names every offending `file:line → import` when it fails.
 */
import { join } from 'node:path';
import {
  type Allowed,
  type RuleId,
  type SourceFile,
  MAX_SOURCE_LINES,
  RULES,
  checkArchitecture,
  describeViolations,
  readSources,
  staleAllowed,
  withoutAllowed,
} from './architecture/checker';

const ROOT = join(__dirname, '..');

/**
 * Violations allowed for now: none. An entry names its file, rule and who clears it; it goes in the
 * same change that fixes the file (a stale entry fails the last test below). New code must not add
 * to it.
 */
const KNOWN_VIOLATIONS: readonly Allowed[] = [];

const RULE_SENTENCES: Readonly<Record<RuleId, string>> = {
  'decisions-import-no-aws': 'domain, configuration and use cases import no AWS SDK',
  'decisions-import-no-io':
    'domain, configuration and use cases import no network, file system, process or worker modules',
  'decisions-import-no-outer-layer':
    'domain, configuration and use cases import no adapters, wiring, handlers or CLI',
  'domain-imports-no-use-cases': 'the domain imports no use case',
  'adapters-import-no-use-cases':
    'adapters import no use case, wiring, handler or CLI (the ports they implement live in the domain)',
  'decisions-read-no-environment': 'domain, configuration and use cases never read process.env',
  'decisions-read-no-clock':
    'domain, configuration and use cases never read the clock (Date.now(), new Date() without an argument)',
  'handlers-and-cli-apart': 'handlers never import the CLI and the CLI never imports handlers',
  'lambda-imports-no-lib': 'nothing under lambda/ imports lib/',
  'aws-sdk-only-in-adapters-and-wiring': 'under lambda/, only adapters and the wiring import the AWS SDK',
  'source-files-stay-small': `no hand-written source file in lambda/ or lib/ is longer than ${MAX_SOURCE_LINES} lines`,
};

describe('architecture', () => {
  const sources = readSources(ROOT, ['lambda', 'lib', 'bin']);
  const violations = checkArchitecture(sources);

  it('reads the sources of lambda/, lib/ and bin/', () => {
    expect(sources.some((s) => s.path.startsWith('lambda/domain/'))).toBe(true);
    expect(sources.some((s) => s.path.startsWith('lib/'))).toBe(true);
    expect(sources.some((s) => s.path.startsWith('bin/'))).toBe(true);
  });

  for (const rule of RULES) {
    it(RULE_SENTENCES[rule.id], () => {
      const offending = withoutAllowed(
        violations.filter((v) => v.rule === rule.id),
        KNOWN_VIOLATIONS,
      );
      if (offending.length > 0) {
        throw new Error(`${RULE_SENTENCES[rule.id]}; offending:\n${describeViolations(offending)}`);
      }
    });
  }

  it('lists no allowlisted violation that has been fixed (remove its entry)', () => {
    expect(staleAllowed(violations, KNOWN_VIOLATIONS)).toEqual([]);
  });
});

describe('the architecture checker', () => {
  /** One file per rule, each breaking exactly that rule on a known line. */
  const bigFile = Array.from({ length: MAX_SOURCE_LINES + 1 }, (_, i) => `export const v${i} = ${i};`).join(
    '\n',
  );
  const fixture: { rule: RuleId; file: SourceFile; line: number; what: string }[] = [
    {
      rule: 'decisions-import-no-aws',
      file: {
        path: 'lambda/domain/uses-sdk.ts',
        text: "import type { S3Client } from '@aws-sdk/client-s3';\nexport type C = S3Client;\n",
      },
      line: 1,
      what: '@aws-sdk/client-s3',
    },
    {
      rule: 'decisions-import-no-io',
      file: {
        path: 'lambda/use-cases/reads-files.ts',
        text: "// a use case\nimport { readFile } from 'node:fs/promises';\nexport const r = readFile;\n",
      },
      line: 2,
      what: 'node:fs/promises',
    },
    {
      rule: 'decisions-import-no-outer-layer',
      file: {
        path: 'lambda/config/views/builds-adapters.ts',
        text: "export { FileStateStore } from '../../adapters/local/file-state-store';\n",
      },
      line: 1,
      what: '../../adapters/local/file-state-store',
    },
    {
      rule: 'domain-imports-no-use-cases',
      file: {
        path: 'lambda/domain/rules.ts',
        text: "const scan = require('../use-cases/scan');\nexport const s = scan;\n",
      },
      line: 1,
      what: '../use-cases/scan',
    },
    {
      rule: 'adapters-import-no-use-cases',
      file: {
        path: 'lambda/adapters/local/needs-port.ts',
        text: "import type { DesiredVersionSource } from '../../use-cases/agent/desired-source';\nexport type D = DesiredVersionSource;\n",
      },
      line: 1,
      what: '../../use-cases/agent/desired-source',
    },
    {
      rule: 'decisions-read-no-environment',
      file: {
        path: 'lambda/use-cases/env.ts',
        text: '// process.env in a comment is fine\nexport const region = process.env.AWS_REGION;\n',
      },
      line: 2,
      what: 'process.env',
    },
    {
      rule: 'decisions-read-no-clock',
      file: {
        path: 'lambda/domain/clock.ts',
        text: "export const at = new Date('2026-01-01');\nexport function now() {\n  return Date.now();\n}\n",
      },
      line: 3,
      what: 'Date.now()',
    },
    {
      rule: 'handlers-and-cli-apart',
      file: {
        path: 'lambda/handlers/uses-cli.ts',
        text: "import { program } from '../cli/program';\nexport const p = program;\n",
      },
      line: 1,
      what: '../cli/program',
    },
    {
      rule: 'lambda-imports-no-lib',
      file: {
        path: 'lambda/wiring/stack.ts',
        text: "type T = import('../../lib/certrotor').CertRotor;\nexport type S = T;\n",
      },
      line: 1,
      what: '../../lib/certrotor',
    },
    {
      rule: 'aws-sdk-only-in-adapters-and-wiring',
      file: {
        path: 'lambda/handlers/starts-workflow.ts',
        text: "import { SFNClient } from '@aws-sdk/client-sfn';\nexport const c = SFNClient;\n",
      },
      line: 1,
      what: '@aws-sdk/client-sfn',
    },
    {
      rule: 'source-files-stay-small',
      file: { path: 'lib/constructs/huge.ts', text: `${bigFile}\n` },
      line: MAX_SOURCE_LINES + 1,
      what: `${MAX_SOURCE_LINES + 1} lines (limit ${MAX_SOURCE_LINES})`,
    },
  ];

  const clean: SourceFile[] = [
    {
      path: 'lambda/adapters/aws/starts-workflow.ts',
      text: "import { SFNClient } from '@aws-sdk/client-sfn';\nimport { readFile } from 'node:fs/promises';\nexport const c = [SFNClient, readFile, new Date()];\n",
    },
    {
      path: 'lambda/handlers/planner.ts',
      text: "import { decide } from '../domain/renewal';\nexport const now = () => new Date();\nexport const region = process.env.AWS_REGION;\nexport { decide };\n",
    },
    { path: 'lib/stack.ts', text: "import { Stack } from 'aws-cdk-lib';\nexport const s = Stack;\n" },
  ];

  it.each(fixture.map((f) => [f.rule, f] as const))(
    'reports a deliberate violation of %s with its file, line and import',
    (_rule, f) => {
      // Act
      const found = checkArchitecture([f.file, ...clean]);

      // Assess
      const ofRule = found.filter((v) => v.rule === f.rule);
      expect(ofRule).toEqual([{ rule: f.rule, file: f.file.path, line: f.line, what: f.what }]);
      expect(describeViolations(ofRule)).toBe(`${f.file.path}:${f.line} → ${f.what}`);
      expect(found.filter((v) => v.file !== f.file.path)).toEqual([]);
    },
  );

  it('finds nothing in adapters, handlers and lib doing what only they may do', () => {
    expect(checkArchitecture(clean)).toEqual([]);
  });

  it('lets an allowlist hide a known violation and reports the entry once it is fixed', () => {
    // Prepare
    const sdk = fixture.find((f) => f.rule === 'aws-sdk-only-in-adapters-and-wiring')!;
    const allowed: Allowed[] = [{ rule: sdk.rule, file: sdk.file.path, why: 'test' }];

    // Act
    const hidden = withoutAllowed(checkArchitecture([sdk.file]), allowed);
    const stale = staleAllowed(checkArchitecture(clean), allowed);

    // Assess
    expect(hidden).toEqual([]);
    expect(stale).toEqual(allowed);
  });
});
