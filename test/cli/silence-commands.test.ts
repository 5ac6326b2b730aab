/**
 * `certrotor silence`, `silence list` and `silence lift <id>`: a stored silence is listed with its id
 * next to those in the configuration file, and lifting it ends it at once; lifting what cannot be
 * lifted says why in one line.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CliContext } from '../../lambda/cli/context';
import { runCli } from '../../lambda/cli/program';
import { useTempDirs } from '../support/temp-dir';

const temp = useTempDirs();
const NOW = new Date('2027-01-10T12:00:00Z');

async function certrotor(cwd: string, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CliContext = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env: {},
    cwd,
    clock: () => NOW,
    exitCode: 0,
  };
  const code = await runCli(argv, ctx);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function workspace(): Promise<string> {
  const dir = await temp.make('silence-commands');
  writeFileSync(
    join(dir, 'certrotor.yaml'),
    JSON.stringify({
      version: 1,
      environments: [{ name: 'prod' }, { name: 'staging' }],
      silences: [{ scope: 'environment=prod', until: '2027-02-01T00:00:00Z', reason: 'CHG-9 freeze' }],
      local: { stateDirectory: 'state', events: { stdout: false } },
    }),
  );
  return dir;
}

describe('certrotor silence list and silence lift', () => {
  it('lists a stored silence with its id beside the configured one, and lifting it ends it', async () => {
    // Prepare
    const dir = await workspace();
    const created = await certrotor(
      dir,
      'silence',
      '--scope',
      'environment=staging',
      '--until',
      '4h',
      '--reason',
      'INC-42',
      '--json',
    );
    const id = (JSON.parse(created.out) as { silence: { id: string } }).silence.id;

    // Act
    const listed = await certrotor(dir, 'silence', 'list', '--json');
    const lifted = await certrotor(dir, 'silence', 'lift', id);
    const after = await certrotor(dir, 'silence', 'list');

    // Assess
    expect(created.code).toBe(0);
    expect((JSON.parse(listed.out) as { silences: unknown[] }).silences).toEqual([
      expect.objectContaining({ id, reason: 'INC-42', origin: 'stored', until: '2027-01-10T16:00:00.000Z' }),
      expect.objectContaining({ reason: 'CHG-9 freeze', origin: 'configuration' }),
    ]);
    expect(lifted).toMatchObject({ code: 0, out: 'lifted environment=staging (INC-42)' });
    expect(after.out).not.toContain('INC-42');
    expect(after.out).toMatch(/environment=prod +2027-02-01T00:00:00.000Z +configuration +CHG-9 freeze/);
  });

  it('refuses to lift an unknown id or a configured silence, in one line each', async () => {
    // Prepare
    const dir = await workspace();
    const configuredId = (
      JSON.parse((await certrotor(dir, 'silence', 'list', '--json')).out) as { silences: { id: string }[] }
    ).silences[0]!.id;

    // Act
    const unknown = await certrotor(dir, 'silence', 'lift', 'nope');
    const configured = await certrotor(dir, 'silence', 'lift', configuredId);
    const incomplete = await certrotor(dir, 'silence', '--scope', 'environment=prod');

    // Assess
    expect(unknown).toMatchObject({
      code: 1,
      err: 'certrotor: silence lift nope: no silence in force with this id (see certrotor silence list)',
    });
    expect(configured.code).toBe(1);
    expect(configured.err).toMatch(/in the configuration file \(silences:\); remove it there$/);
    expect(incomplete.code).toBe(1);
    expect(incomplete.err).toMatch(/^certrotor: silence: --until, --reason required/);
  });
});
