import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { closest, levenshtein, parseProblem } from '../../lambda/domain/zod-issues';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();

async function certrotor(
  cwd: string,
  ...argv: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (text) => out.push(text),
    err: (text) => err.push(text),
    env: {},
    cwd,
    clock: () => new Date('2026-03-01T12:00:00Z'),
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const MISSPELT = `version: 1
environments:
  - name: prod
sources:
  - name: f
    kind: file
    environment: prod
    paths: [a.pem]
endpoints:
  - name: api
    environment: prod
    host: 127.0.0.1
    prot: 8443
certificates:
  - name: x
    commonName: x.example
    issuer: ca
issuers:
  - name: ca
    kind: local-ca
    keySpec: EC_P265
notificatons: {}
`;

describe('configuration problems', () => {
  it('name the line and column of each problem and suggest the closest allowed key or kind', async () => {
    const cwd = await temp.make('config-problems');
    const file = join(cwd, 'certrotor.yaml');
    await writeFile(file, MISSPELT);

    const run = await certrotor(cwd, 'config', 'validate');

    expect(run.code).toBe(1);
    expect(run.err.split('\n')).toEqual([
      `certrotor: ${file}: 4 configuration problems:`,
      `  ${file}:6:11: sources[0].kind: must be one of "acm", "secrets-manager", "files" (did you mean "files"?)`,
      `  ${file}:13:5: endpoints[0].prot: unknown key (did you mean "port"?)`,
      `  ${file}:21:14: issuers[0].keySpec: must be one of "EC_P256", "EC_P384", "RSA_2048", "RSA_3072", "RSA_4096" (did you mean "EC_P256"?)`,
      `  ${file}:22:1: notificatons: unknown key (did you mean "notifications"?)`,
    ]);
  });

  it('place a missing key at the mapping that lacks it', async () => {
    const cwd = await temp.make('config-problems');
    const file = join(cwd, 'certrotor.yaml');
    await writeFile(
      file,
      'version: 1\nenvironments:\n  - name: prod\ncertificates:\n  - name: x\n    commonName: x.example\n',
    );

    const run = await certrotor(cwd, 'config', 'validate');

    expect(run.err.split('\n')).toEqual([
      `certrotor: ${file}: 1 configuration problem:`,
      `  ${file}:5:5: certificates[0].issuer: is required`,
    ]);
  });

  it('are located in --json output too, and the same when a command loads the file', async () => {
    const cwd = await temp.make('config-problems');
    await writeFile(join(cwd, 'certrotor.yaml'), MISSPELT);

    const json = await certrotor(cwd, 'config', 'validate', '--json');
    const status = await certrotor(cwd, 'status');

    const parsed = JSON.parse(json.out) as { problems: string[]; locations: unknown[] };
    expect(parsed.problems[1]).toBe('endpoints[0].prot: unknown key (did you mean "port"?)');
    expect(parsed.locations[1]).toEqual({
      problem: 'endpoints[0].prot: unknown key (did you mean "port"?)',
      line: 13,
      column: 5,
    });
    expect(status.code).toBe(1);
    expect(status.err).toContain(
      `certrotor.yaml:22:1: notificatons: unknown key (did you mean "notifications"?)`,
    );
  });

  it('suggest nothing for a key that is not close to any allowed one', async () => {
    const cwd = await temp.make('config-problems');
    const file = join(cwd, 'certrotor.yaml');
    await writeFile(file, 'version: 1\nenvironments:\n  - name: prod\n    zebra: 1\n');

    const run = await certrotor(cwd, 'config', 'validate');

    expect(run.err.split('\n')[1]).toBe(`  ${file}:4:5: environments[0].zebra: unknown key`);
  });
});

describe('suggestions', () => {
  it('measure edits, counting a swap of neighbours once', () => {
    expect(levenshtein('port', 'port')).toBe(0);
    expect(levenshtein('prot', 'port')).toBe(1);
    expect(levenshtein('kitten', 'sitting')).toBe(3);
  });

  it('pick the closest candidate within a third of the word, or none', () => {
    expect(closest('destinatons', ['destinations', 'description'])).toBe('destinations');
    expect(closest('Issuer', ['issuer', 'issuers'])).toBe('issuer');
    expect(closest('typo', ['probe', 'local', 'aws'])).toBeUndefined();
  });

  it('split a formatted problem back into its path and message', () => {
    expect(parseProblem('upstreams[1].endpoints[0].port: must be 1-65535')).toEqual({
      path: ['upstreams', 1, 'endpoints', 0, 'port'],
      message: 'must be 1-65535',
    });
    expect(parseProblem('the configuration is empty')).toEqual({
      path: [],
      message: 'the configuration is empty',
    });
  });
});
