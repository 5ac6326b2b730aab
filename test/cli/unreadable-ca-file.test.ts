/**
 * One endpoint whose trust anchors cannot be read is one failure of the scan, named; the other
 * endpoints are still probed, and commands that do not probe (status) are not stopped by it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();

async function certrotor(cwd: string, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: {},
    cwd,
    clock: () => new Date(),
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

it('names the endpoint with the unreadable caFile, probes the others, and leaves status alone', async () => {
  // Prepare: two endpoints on closed loopback ports, one with a caFile that does not exist
  const dir = await temp.make('ca-file');
  const file = join(dir, 'certrotor.json');
  writeFileSync(
    file,
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }],
      endpoints: [
        {
          name: 'pinned',
          environment: 'prod',
          host: '127.0.0.1',
          port: 1,
          caFile: join(dir, 'missing-ca.pem'),
        },
        { name: 'plain', environment: 'prod', host: '127.0.0.1', port: 1 },
      ],
      probe: { timeout: '1s' },
      local: { stateDirectory: join(dir, 'state'), events: { stdout: false } },
    }),
  );

  // Act
  const scanned = await certrotor(dir, 'scan', '--json', '--config', file);
  const status = await certrotor(dir, 'status', '--config', file);

  // Assess
  expect(scanned.code).toBe(1);
  const failures = (JSON.parse(scanned.out) as { failures: { what: string; error: string }[] }).failures;
  expect(failures.map((f) => f.what).sort()).toEqual(['endpoint pinned', 'endpoint plain (127.0.0.1)']);
  expect(failures.find((f) => f.what === 'endpoint pinned')?.error).toMatch(
    /^reading caFile .*missing-ca\.pem: /,
  );
  expect(status.code).toBe(0);
  expect(status.err).toBe('');
});
